"""Assignments (site admins assign readers of the case's site), the reader's scope (only assigned
cases, read-only, a 404 and an audited denial elsewhere; their lesion's earlier visits are
tests/reading/test_prior_visits.py's), claim and release, and the worklist."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from dermrelay.accounts.models import Membership, Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases.models import CaseStatus, Image
from dermrelay.reading.models import Assignment, Report
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload
from tests.reading.helpers import API, assign, claimed_case, make_clinic, ready_case

pytestmark = pytest.mark.django_db(transaction=True)


def denied(user, object_id) -> int:
    return AuditEvent.objects.filter(actor=user, object_id=str(object_id), outcome=AuditOutcome.DENIED).count()


# --------------------------------------------------------------------------- assigning


def test_only_a_site_admin_of_the_case_site_assigns_and_only_readers_of_that_site():
    clinic = make_clinic()
    case = ready_case(clinic)
    other_site = make_site()
    foreign_reader = make_user(role=Role.READER, site=other_site)
    foreign_admin_client = api_client(make_user(role=Role.SITE_ADMIN, site=other_site))
    url = f"{API}/cases/{case.id}/assignment/"

    response = clinic.tech_client.post(url, {"reader": clinic.reader.id}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_site_admin"
    # a reader cannot even see an unassigned case, let alone assign it to themselves
    assert clinic.reader_client.post(url, {"reader": clinic.reader.id}, format="json").status_code == 404
    assert foreign_admin_client.post(url, {"reader": clinic.reader.id}, format="json").status_code == 404
    for not_a_reader_here in (clinic.tech, foreign_reader):
        response = assign(clinic, case, reader=not_a_reader_here)
        assert response.status_code == 400 and "reader" in response.json()["fields"], response.content
    assert clinic.admin_client.post(url, {"reader": 10**9}, format="json").status_code == 400
    past = (timezone.now() - datetime.timedelta(hours=1)).isoformat()
    assert assign(clinic, case, due_at=past).status_code == 400
    assert not Assignment.objects.exists()

    due = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    response = assign(clinic, case, due_at=due.isoformat())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reader"]["id"] == clinic.reader.id and body["assigned_by"]["id"] == clinic.admin.id
    assert datetime.datetime.fromisoformat(body["due_at"].replace("Z", "+00:00")) == due
    assert AuditEvent.objects.filter(actor=clinic.admin, action="assign", object_id=str(case.id)).count() == 1
    active = clinic.admin_client.get(url).json()["active"]
    assert active["id"] == body["id"]


def test_a_draft_case_cannot_be_assigned():
    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    response = assign(clinic, case)
    assert response.status_code == 409 and response.json()["code"] == "assignment_conflict"


def test_reassigning_ends_the_previous_assignment_and_its_access():
    clinic = make_clinic()
    case = ready_case(clinic)
    second = make_user(role=Role.READER, site=clinic.site)
    assert assign(clinic, case).status_code == 201
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 200
    assert assign(clinic, case, reader=second).status_code == 201
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 404
    assert api_client(second).get(f"{API}/cases/{case.id}/").status_code == 200
    first = Assignment.objects.get(reader=clinic.reader)
    assert first.ended_at is not None and first.end_reason == "reassigned"
    history = clinic.admin_client.get(f"{API}/cases/{case.id}/assignment/").json()["history"]
    assert [h["reader"]["id"] for h in history] == [second.id, clinic.reader.id]


def test_unassigning_and_reassigning_wait_for_the_reader_to_release():
    clinic = make_clinic()
    case = claimed_case(clinic)
    url = f"{API}/cases/{case.id}/assignment/"
    assert clinic.admin_client.delete(url).status_code == 409
    assert assign(clinic, case, reader=make_user(role=Role.READER, site=clinic.site)).status_code == 409
    assert clinic.reader_client.post(f"{API}/cases/{case.id}/release/").status_code == 200
    assert clinic.tech_client.delete(url).status_code == 403
    assert clinic.admin_client.delete(url).status_code == 204
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 404


# --------------------------------------------------------------------------- the reader's scope


def test_a_reader_reads_the_assigned_case_its_images_quality_and_findings_and_nothing_else():
    clinic = make_clinic()
    assigned, unassigned = ready_case(clinic), ready_case(clinic)
    assert assign(clinic, assigned).status_code == 201
    client, reader = clinic.reader_client, clinic.reader
    image = Image.objects.get(case=assigned)
    other_image = Image.objects.get(case=unassigned)

    assert [c["id"] for c in client.get(f"{API}/cases/").json()["results"]] == [str(assigned.id)]
    assert [i["id"] for i in client.get(f"{API}/images/").json()["results"]] == [str(image.id)]
    for path in (f"/cases/{assigned.id}/", f"/cases/{assigned.id}/quality/", f"/cases/{assigned.id}/findings/",
                 f"/images/{image.id}/", f"/images/{image.id}/viewer/", f"/images/{image.id}/thumbnail/",
                 f"/images/{image.id}/file/"):
        assert client.get(API + path).status_code == 200, path
    viewer = client.get(f"{API}/images/{image.id}/viewer/").json()
    assert client.get(viewer["frames"][0]["dzi"]).status_code == 200  # the signed tile URLs work for the reader

    # the unassigned case of the same site looks like a missing one, and the attempt is audited
    for path, target in ((f"/cases/{unassigned.id}/", unassigned.id), (f"/cases/{unassigned.id}/quality/", unassigned.id),
                         (f"/cases/{unassigned.id}/findings/", unassigned.id), (f"/images/{other_image.id}/", other_image.id),
                         (f"/images/{other_image.id}/viewer/", other_image.id), (f"/cases/{unassigned.id}/report/", unassigned.id)):
        before = denied(reader, target)
        response = client.get(API + path)
        assert response.status_code == 404, path
        assert response.json().get("code", "not_found") == "not_found"
        assert denied(reader, target) == before + 1, path
    # patients and lesions stay the clinic's
    assert client.get(f"{API}/patients/").json()["results"] == []
    assert client.get(f"{API}/lesions/{assigned.lesion_id}/").status_code == 404


def test_a_reader_changes_none_of_the_clinics_records_of_an_assigned_case():
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    client = clinic.reader_client
    image = Image.objects.get(case=case)
    before = (Image.objects.filter(case=case).count(), case.clinical_note, image.pixel_spacing_um)
    assert client.patch(f"{API}/cases/{case.id}/", {"clinical_note": "x"}, format="json").status_code == 404
    assert client.post(f"{API}/cases/{case.id}/recall/", {"reason": "blur"}, format="json").status_code == 404
    assert upload(client, case, png_bytes(20, 20, color=3)).status_code == 404
    assert client.patch(f"{API}/images/{image.id}/", {"pixel_spacing_um": 3.0}, format="json").status_code == 404
    assert client.delete(f"{API}/images/{image.id}/").status_code == 404
    case.refresh_from_db()
    image.refresh_from_db()
    assert (Image.objects.filter(case=case).count(), case.clinical_note, image.pixel_spacing_um) == before
    assert case.status == CaseStatus.READY_FOR_READING
    assert denied(clinic.reader, case.id) >= 2 and denied(clinic.reader, image.id) >= 2


def test_losing_the_reader_role_ends_access_to_assigned_cases():
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    Membership.objects.filter(user=clinic.reader, role=Role.READER).delete()
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 404
    assert clinic.reader_client.get(f"{API}/worklist/").json()["results"] == []


# --------------------------------------------------------------------------- claim and release


def test_claim_and_release_move_the_case_through_the_state_machine():
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    claim, release = f"{API}/cases/{case.id}/claim/", f"{API}/cases/{case.id}/release/"

    assert clinic.reader_client.post(release).status_code == 409  # nothing claimed yet
    response = clinic.admin_client.post(claim)
    assert response.status_code == 403 and response.json()["code"] == "not_assigned_reader"
    response = clinic.reader_client.post(claim)
    assert response.status_code == 200 and response.json()["claimed_at"]
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_READING
    assert Report.objects.get(case=case).author == clinic.reader
    assert clinic.reader_client.post(claim).status_code == 200  # a double click changes nothing
    assert AuditEvent.objects.filter(action="claim", object_id=str(case.id)).count() == 1

    assert clinic.reader_client.post(release).status_code == 200
    case.refresh_from_db()
    assert case.status == CaseStatus.READY_FOR_READING
    assert Assignment.objects.get(case=case).claimed_at is None
    assert clinic.reader_client.get(f"{API}/cases/{case.id}/").status_code == 200  # still theirs
    transitions = list(AuditEvent.objects.filter(action="transition", object_id=str(case.id))
                       .order_by("id").values_list("detail", flat=True))
    assert [(t["from"], t["to"]) for t in transitions][-2:] == [("ready_for_reading", "in_reading"),
                                                                 ("in_reading", "ready_for_reading")]
    assert AuditEvent.objects.filter(actor=clinic.reader, action="release", object_id=str(case.id)).exists()


def test_a_recalled_case_cannot_be_claimed():
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    assert clinic.tech_client.post(f"{API}/cases/{case.id}/recall/", {"reason": "blur"}, format="json").status_code == 200
    response = clinic.reader_client.post(f"{API}/cases/{case.id}/claim/")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


# --------------------------------------------------------------------------- worklist


def test_the_worklist_lists_the_readers_cases_with_waiting_time_and_sorts_and_filters():
    clinic = make_clinic()
    first, second, not_mine = ready_case(clinic), ready_case(clinic), ready_case(clinic)
    from dermrelay.cases.models import Case

    Case.objects.filter(pk=first.pk).update(submitted_at=timezone.now() - datetime.timedelta(hours=5))
    soon = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    later = (timezone.now() + datetime.timedelta(days=3)).isoformat()
    assert assign(clinic, first, due_at=later).status_code == 201
    assert assign(clinic, second, due_at=soon).status_code == 201
    assert assign(clinic, not_mine, reader=make_user(role=Role.READER, site=clinic.site)).status_code == 201
    client = clinic.reader_client

    rows = client.get(f"{API}/worklist/").json()["results"]
    assert [r["case"] for r in rows] == [str(first.id), str(second.id)]  # longest waiting first
    assert rows[0]["waiting_seconds"] >= 5 * 3600 > rows[1]["waiting_seconds"] >= 0
    assert rows[0]["site"] == {"id": str(clinic.site.id), "name": clinic.site.name}
    assert rows[0]["quality"]["state"] == "no_mosaics" and rows[0]["status"] == "ready_for_reading"
    assert rows[0]["overdue"] is False
    rows = client.get(f"{API}/worklist/?ordering=due_at").json()["results"]
    assert [r["case"] for r in rows] == [str(second.id), str(first.id)]

    assert client.post(f"{API}/cases/{second.id}/claim/").status_code == 200
    rows = client.get(f"{API}/worklist/?status=in_reading").json()["results"]
    assert [r["case"] for r in rows] == [str(second.id)]
    assert client.get(f"{API}/worklist/?verdict=reimage").json()["results"] == []
    assert client.get(f"{API}/worklist/?site={make_site().id}").json()["results"] == []
    for bad in ("ordering=bogus", "status=nonsense", "verdict=maybe", "site=not-a-uuid"):
        response = client.get(f"{API}/worklist/?{bad}")
        assert response.status_code == 400, bad
    assert clinic.tech_client.get(f"{API}/worklist/").json()["results"] == []  # assigned cases only
    assert AuditEvent.objects.filter(actor=clinic.reader, action="worklist").exists()


def test_the_assigned_reader_sees_where_the_lesion_is_but_no_patient_identifier():
    """The reader's case header names the site and the lesion's recorded anatomic site (they cannot
    open the clinic's patient or lesion records), and nothing that identifies the patient."""
    clinic = make_clinic()
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    lesion = case.lesion
    lesion.anatom_site_general, lesion.anatom_site = "posterior torso", "Trunk:Posterior trunk"
    lesion.save()
    body = clinic.reader_client.get(f"{API}/cases/{case.id}/").json()
    assert body["site_name"] == clinic.site.name
    assert body["lesion_site"] == {"label": lesion.label, "anatom_site_general": "posterior torso",
                                   "anatom_site": "Trunk:Posterior trunk"}
    patient = lesion.patient
    text = str(body)
    assert patient.mrn not in text and patient.family_name not in text
    assert clinic.reader_client.get(f"{API}/lesions/{lesion.id}/").status_code == 404
