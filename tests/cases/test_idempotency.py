"""Creating a case, a patient or a lesion again with the same Idempotency-Key gives the object the
first request made: a capture station that lost the answer to its POST retries without making a
second draft case (found by the hardening review: a retry after a lost response made two)."""

from __future__ import annotations

import datetime
import threading

import pytest
import requests
from django.utils import timezone

from dermrelay.accounts.device_tokens import device_token_issue
from dermrelay.accounts.models import IdempotencyKey, Role
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.models import Case, Patient
from tests.factories import api_client, make_lesion, make_patient, make_site, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    lesion = make_lesion(patient=make_patient(site=site, actor=tech), actor=tech)
    return site, tech, api_client(tech), lesion


def _create_case(client, lesion, key=None, **fields):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    body = {"lesion": str(lesion.id), "visit_date": "2026-11-20", "device": "VivaScope 3000", **fields}
    return client.post("/api/v1/cases/", body, format="json", **headers)


def test_a_repeated_create_answers_with_the_case_it_made(clinic):
    _, _, client, lesion = clinic
    first = _create_case(client, lesion, key="7d5c0c1e-retry-1")
    again = _create_case(client, lesion, key="7d5c0c1e-retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="create", object_type="case").count() == 1
    assert AuditEvent.objects.filter(action="create_replayed", object_id=first.json()["id"]).count() == 1


def test_the_same_key_with_another_body_is_refused(clinic):
    _, _, client, lesion = clinic
    assert _create_case(client, lesion, key="k-1").status_code == 201
    reused = _create_case(client, lesion, key="k-1", device="another device")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert Case.objects.count() == 1


def test_without_a_key_or_with_new_keys_each_request_creates(clinic):
    _, _, client, lesion = clinic
    assert _create_case(client, lesion).json()["id"] != _create_case(client, lesion).json()["id"]
    assert _create_case(client, lesion, key="a").json()["id"] != _create_case(client, lesion, key="b").json()["id"]
    assert Case.objects.count() == 4


def test_a_key_is_one_users_own_and_lasts_a_day(clinic):
    site, _, client, lesion = clinic
    colleague = api_client(make_user(role=Role.TECHNICIAN, site=site))
    mine = _create_case(client, lesion, key="shared-key").json()["id"]
    assert _create_case(colleague, lesion, key="shared-key").json()["id"] != mine
    IdempotencyKey.objects.update(created_at=timezone.now() - datetime.timedelta(days=1, minutes=1))
    assert _create_case(client, lesion, key="shared-key").json()["id"] != mine  # expired: a new request
    assert Case.objects.count() == 3


def test_a_refused_create_leaves_the_key_free_for_the_corrected_request(clinic):
    _, _, client, lesion = clinic
    refused = _create_case(client, lesion, key="fix-and-retry", visit_date="not a date")
    assert refused.status_code == 400 and not IdempotencyKey.objects.exists()
    assert _create_case(client, lesion, key="fix-and-retry").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 101, "clé", "line\nbreak"])
def test_an_unusable_key_is_a_400(clinic, key):
    _, _, client, lesion = clinic
    response = _create_case(client, lesion, key=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["fields"]
    assert not Case.objects.exists()


def test_patients_and_lesions_are_created_once_per_key(clinic):
    site, _, client, lesion = clinic
    body = {"site": str(site.id), "mrn": "R-77", "given_name": "Retry", "family_name": "Twice", "birth_date": "1970-01-01"}
    first = client.post("/api/v1/patients/", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    again = client.post("/api/v1/patients/", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == 201, first.content
    assert again.json()["id"] == first.json()["id"] and Patient.objects.filter(mrn="R-77").count() == 1
    lesion_body = {"patient": first.json()["id"], "label": "L9", "anatom_site_general": "anterior torso"}
    ids = {client.post("/api/v1/lesions/", lesion_body, format="json", HTTP_IDEMPOTENCY_KEY="l-1").json()["id"]
           for _ in range(2)}
    assert len(ids) == 1


@pytest.mark.django_db(transaction=True)
def test_two_repeats_racing_each_other_make_one_case(live_server):
    """A station that retries before its first request has answered: both arrive at once."""
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    lesion = make_lesion(patient=make_patient(site=site, actor=tech), actor=tech)
    _, key = device_token_issue(user=tech, name="station")
    headers = {"Authorization": f"Token {key}", "Idempotency-Key": "race-1"}
    body = {"lesion": str(lesion.id), "visit_date": "2026-11-20"}
    answers: list[requests.Response] = []
    start = threading.Barrier(4)

    def post():
        start.wait()
        answers.append(requests.post(f"{live_server.url}/api/v1/cases/", json=body, headers=headers, timeout=60))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1 and Case.objects.count() == 1
