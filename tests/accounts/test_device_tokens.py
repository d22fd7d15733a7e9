"""Device tokens as the hardening review asked for them: every device its own named token with a
lifetime, stored only as a digest, listed and revoked by its owner, revoked by signing the device
out. Before, one plain-text key per user never expired and survived logout."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dermrelay.accounts.models import DeviceToken, Role
from dermrelay.audit.models import AuditEvent
from tests.factories import PASSWORD, make_site, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def technician():
    return make_user(role=Role.TECHNICIAN, site=make_site())


def _sign_in_device(user, name: str = "VivaScope, room 2") -> dict:
    response = APIClient().post(f"{API}/auth/token/", {"username": user.username, "password": PASSWORD, "name": name},
                                format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _device(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_is_issued_per_device_with_a_lifetime_and_only_its_digest_is_stored(technician, settings):
    issued = _sign_in_device(technician)
    key = issued["token"]
    assert key.startswith("drt_") and len(key) >= 50 and issued["name"] == "VivaScope, room 2"
    assert issued["state"] == "active" and key[4:12] == issued["prefix"]
    expires = datetime.datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00"))
    lifetime = expires - timezone.now()
    assert datetime.timedelta(days=settings.DERMRELAY_DEVICE_TOKEN_DAYS - 1) < lifetime <= datetime.timedelta(
        days=settings.DERMRELAY_DEVICE_TOKEN_DAYS)
    row = DeviceToken.objects.get()
    assert key not in {row.digest, row.prefix, row.name} and len(row.digest) == 64  # no usable key at rest
    assert _device(key).get(f"{API}/auth/me/").json()["username"] == technician.username
    assert DeviceToken.objects.get().last_used_at is not None


def test_each_sign_in_is_a_device_of_its_own_listed_by_its_owner(technician):
    first, second = _sign_in_device(technician, "microscope"), _sign_in_device(technician, "tablet")
    assert first["token"] != second["token"]
    listed = _device(first["token"]).get(f"{API}/auth/tokens/").json()
    assert [(t["name"], t["current"]) for t in listed] == [("tablet", False), ("microscope", True)]
    assert "token" not in listed[0] and "digest" not in listed[0]  # the key is shown once, at issue
    other = make_user(role=Role.TECHNICIAN, site=make_site())
    assert _device(_sign_in_device(other)["token"]).get(f"{API}/auth/tokens/").json()[0]["name"] != "tablet"


def test_the_owner_revokes_one_device_and_the_others_keep_working(technician):
    microscope, tablet = _sign_in_device(technician, "microscope"), _sign_in_device(technician, "tablet")
    revoked = _device(tablet["token"]).post(f"{API}/auth/tokens/{microscope['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = _device(microscope["token"]).get(f"{API}/auth/me/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert _device(tablet["token"]).get(f"{API}/auth/me/").status_code == 200
    assert AuditEvent.objects.filter(action="token_revoke", object_id=microscope["id"]).count() == 1

    stranger = make_user(role=Role.TECHNICIAN, site=make_site())
    response = _device(_sign_in_device(stranger)["token"]).post(f"{API}/auth/tokens/{tablet['id']}/revoke/")
    assert response.status_code == 404  # someone else's token is not yours to revoke
    assert _device(tablet["token"]).get(f"{API}/auth/me/").status_code == 200


def test_signing_a_device_out_revokes_its_token(technician):
    issued = _sign_in_device(technician)
    device = _device(issued["token"])
    assert device.post(f"{API}/auth/logout/").status_code == 204
    assert device.get(f"{API}/auth/me/").status_code == 401
    assert DeviceToken.objects.get().revoked_at is not None


def test_an_expired_token_is_refused(technician):
    issued = _sign_in_device(technician)
    DeviceToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    refused = _device(issued["token"]).get(f"{API}/auth/me/")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    listed = APIClient()
    listed.force_authenticate(technician)
    assert listed.get(f"{API}/auth/tokens/").json()[0]["state"] == "expired"


@pytest.mark.parametrize("key", ["drt_", "drt_00000000", "drt_0000000000000000000000000000000000000000000000",
                                 "0123456789abcdef0123456789abcdef01234567", "drt_é" * 5])
def test_made_up_keys_are_refused(technician, key):
    _sign_in_device(technician)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}".encode("utf-8").decode("latin-1"))
    assert client.get(f"{API}/auth/me/").status_code == 401
