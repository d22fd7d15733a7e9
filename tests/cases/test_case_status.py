"""The case state machine is enforced in the service layer: every pair of statuses is checked."""

from __future__ import annotations

import datetime
import itertools

import pytest

from dermrelay.accounts.models import Role
from dermrelay.cases import services
from dermrelay.cases.models import Case, CaseStatus, Image, ImageStatus
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db

ALLOWED = {
    ("draft", "submitted"), ("submitted", "processing"), ("processing", "ready_for_reading"),
    ("processing", "recall_requested"), ("ready_for_reading", "in_reading"),
    ("ready_for_reading", "recall_requested"), ("in_reading", "signed"), ("in_reading", "ready_for_reading"),
    ("recall_requested", "submitted"), ("signed", "amended"), ("amended", "amended"),
}


@pytest.mark.parametrize("from_status,to_status", list(itertools.product(CaseStatus.values, repeat=2)))
def test_every_transition_is_allowed_or_refused_as_designed(from_status, to_status):
    case = make_case(site=make_site())
    Case.objects.filter(pk=case.pk).update(status=from_status)
    if (from_status, to_status) in ALLOWED:
        assert services.case_transition(case=case, to_status=to_status, actor=None).status == to_status
    else:
        with pytest.raises(services.InvalidTransition):
            services.case_transition(case=case, to_status=to_status, actor=None)
        assert Case.objects.get(pk=case.pk).status == from_status


def test_status_cannot_be_written_through_the_api():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    response = api_client(tech).patch(f"/api/v1/cases/{case.id}/", {"status": "signed", "device": "RCM-2"}, format="json")
    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.status, case.device) == ("draft", "RCM-2")


def test_submit_needs_an_image_and_no_failed_image(django_capture_on_commit_callbacks):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    client = api_client(tech)
    empty = client.post(f"/api/v1/cases/{case.id}/submit/")
    assert (empty.status_code, empty.json()["code"]) == (409, "invalid_transition")

    with django_capture_on_commit_callbacks(execute=True):
        image_id = upload(client, case, png_bytes()).json()["id"]
    Image.objects.filter(pk=image_id).update(status=ImageStatus.FAILED)
    failed = client.post(f"/api/v1/cases/{case.id}/submit/")
    assert failed.status_code == 409 and "failed" in failed.json()["detail"]

    Image.objects.filter(pk=image_id).update(status=ImageStatus.READY)
    with django_capture_on_commit_callbacks(execute=True):  # eager tasks: the case advances in-process
        ok = client.post(f"/api/v1/cases/{case.id}/submit/")
    assert ok.status_code == 200 and ok.json()["submitted_at"]
    assert Case.objects.get(pk=case.id).status == CaseStatus.READY_FOR_READING
    assert services.case_advance(case_id=case.id).status == CaseStatus.READY_FOR_READING  # idempotent


def test_a_submission_whose_message_was_lost_is_moved_on_by_the_reconciler(django_capture_on_commit_callbacks):
    """The message sent on submission is lost (never executed here: as after a broker flush); the
    case's own status is what the reconciler reads, so it moves on once it is no longer young."""
    from dermrelay.pipeline.steps import stale_work_reconcile

    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    submitted, processing, waiting = (make_case(site=site, actor=tech) for _ in range(3))
    for case in (submitted, processing, waiting):
        with django_capture_on_commit_callbacks(execute=True):
            image_id = upload(client, case, png_bytes()).json()["id"]
        Image.objects.filter(pk=image_id).update(status=ImageStatus.READY)
        with django_capture_on_commit_callbacks(execute=False):  # the advance message never arrives
            assert client.post(f"/api/v1/cases/{case.id}/submit/").status_code == 200
    Case.objects.filter(pk=processing.pk).update(status=CaseStatus.PROCESSING)
    Image.objects.filter(case=waiting).update(status=ImageStatus.STORED)  # still deriving: must wait
    Case.objects.filter(pk=waiting.pk).update(status=CaseStatus.PROCESSING)

    assert stale_work_reconcile()["cases_advanced"] == 0  # young: the message may still come
    Case.objects.update(updated_at=Case.objects.get(pk=submitted.pk).updated_at - datetime.timedelta(minutes=5))
    assert stale_work_reconcile()["cases_advanced"] == 2
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert statuses == {submitted.pk: CaseStatus.READY_FOR_READING, processing.pk: CaseStatus.READY_FOR_READING,
                        waiting.pk: CaseStatus.PROCESSING}
    assert stale_work_reconcile()["cases_advanced"] == 0  # nothing left to move


def test_a_submitted_case_is_locked_and_a_recalled_case_opens_again(django_capture_on_commit_callbacks):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    client = api_client(tech)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, case, png_bytes())
        client.post(f"/api/v1/cases/{case.id}/submit/")
    locked = client.patch(f"/api/v1/cases/{case.id}/", {"device": "other"}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (409, "case_locked")

    recalled = client.post(f"/api/v1/cases/{case.id}/recall/", {"reason": "air bubbles over the lesion"}, format="json")
    assert recalled.status_code == 200 and recalled.json()["status"] == "recall_requested"
    assert upload(client, case, png_bytes(color=90)).status_code == 201
    assert client.post(f"/api/v1/cases/{case.id}/recall/", {}, format="json").status_code == 400  # reason required
