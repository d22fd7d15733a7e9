import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Sign-in is rate-limited per address in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()
