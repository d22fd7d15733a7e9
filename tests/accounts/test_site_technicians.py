"""The clinic's case form lists the site's technicians (no one else, and only to the site's clinic)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from dermrelay.accounts.models import Membership, Role
from tests.factories import make_site, make_user

pytestmark = pytest.mark.django_db


def test_lists_active_technicians_of_the_site_only():
    site, other = make_site(), make_site()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    tech = make_user(role=Role.TECHNICIAN, site=site, username="tara")
    tech.first_name, tech.last_name = "Tara", "Tech"
    tech.save()
    gone = make_user(role=Role.TECHNICIAN, site=site, username="gone")
    gone.is_active = False
    gone.save()
    make_user(role=Role.TECHNICIAN, site=other)
    make_user(role=Role.READER, site=site)
    Membership.objects.create(user=admin, site=other, role=Role.READER)
    client = APIClient()
    client.force_authenticate(admin)
    response = client.get(f"/api/v1/sites/{site.id}/technicians/")
    assert response.status_code == 200
    assert response.json() == [{"id": tech.id, "full_name": "Tara Tech", "username": "tara"}]
    # A reader role at the other site gives no access to its technicians.
    assert client.get(f"/api/v1/sites/{other.id}/technicians/").status_code == 404
