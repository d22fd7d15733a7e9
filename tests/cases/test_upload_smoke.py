import pytest

from dermrelay.accounts.models import Role
from dermrelay.cases.models import Image
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db


def test_valid_png_is_stored_and_described(isolated_files):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    response = upload(api_client(tech), case, png_bytes(640, 480))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["frames"], body["bit_depth"], body["file_format"]) == (640, 480, 1, 8, "png")
    image = Image.objects.get()
    assert image.file.name.startswith(f"originals/{site.id}/") and image.file.name.endswith(".png")
