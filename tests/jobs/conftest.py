import pytest

from dermrelay.accounts.models import Role
from dermrelay.imaging.models import DerivationJob
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload


@pytest.fixture
def job() -> DerivationJob:
    """A queued derivation job (its message's on_commit never fired here): the runner's subject."""
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    response = upload(api_client(tech), make_case(site=site, actor=tech), png_bytes(64, 64))
    return DerivationJob.objects.get(image_id=response.json()["id"])
