import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Signing is rate-limited per user in the cache (like login); each test starts with none."""
    cache.clear()
    yield
    cache.clear()
