"""Prior visits for the reader: a reader actively assigned to a case reads, and only reads, the
earlier visits of the same lesion (images, viewer and tiles, quality, signed report), audited like
every read; never another lesion's cases, never a later visit, never a draft, and nothing once the
assignment ends. And the lesion history that lists those visits."""

from __future__ import annotations

import datetime

import pytest

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases import services as case_services
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind
from dermrelay.reading.models import Assignment, Report, ReportVersion
from tests.factories import PASSWORD, api_client, make_lesion, make_patient, make_user, png_bytes, upload
from tests.reading.helpers import API, COMPLETE_REPORT, Clinic, assign, make_clinic, submit

pytestmark = pytest.mark.django_db(transaction=True)

_shade = iter(range(20, 250, 3))


def visit(clinic: Clinic, lesion, day: datetime.date, *, depths=((60.0, "dej"),), submitted: bool = True) -> Case:
    """One visit of the lesion with a dermoscopy image and mosaics at the given depths (µm, level)."""
    case = case_services.case_create(actor=clinic.tech, lesion=lesion, visit_date=day, device="test",
                                     clinical_question="melanoma? please assess the junction")
    response = upload(clinic.tech_client, case, png_bytes(64, 48, mode="RGB", color=(next(_shade), 90, 80)))
    assert response.status_code == 201, response.content
    for depth_um, level in depths:
        response = upload(clinic.tech_client, case, png_bytes(96, 72, color=next(_shade)), name="mosaic.png",
                          kind=ImageKind.RCM_MOSAIC, depth_level=level, depth_um=depth_um)
        assert response.status_code == 201, response.content
    return submit(clinic, case) if submitted else case


def signed_by_other_reader(clinic: Clinic, case: Case):
    """Visit 1 read and signed by another reader of the site (so the test's reader holds no
    assignment of it)."""
    other = make_user(role=Role.READER, site=clinic.site)
    client = api_client(other)
    assert assign(clinic, case, reader=other).status_code == 201
    assert client.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    assert client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    response = client.post(f"{API}/cases/{case.id}/report/sign/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return other


def denied(user, object_id) -> int:
    return AuditEvent.objects.filter(actor=user, object_id=str(object_id), outcome=AuditOutcome.DENIED).count()


def test_the_reader_of_visit_2_reads_visit_1_but_no_other_lesion_and_writes_nothing_there():
    clinic = make_clinic()
    lesion = make_lesion(patient=make_patient(site=clinic.site, actor=clinic.tech), actor=clinic.tech)
    first = visit(clinic, lesion, datetime.date(2026, 5, 4))
    signed_by_other_reader(clinic, first)
    second = visit(clinic, lesion, datetime.date(2026, 11, 2))
    other_lesion = make_lesion(patient=lesion.patient, actor=clinic.tech)
    elsewhere = visit(clinic, other_lesion, datetime.date(2026, 4, 1))  # earlier, same patient, another lesion
    assert assign(clinic, second).status_code == 201
    client, reader = clinic.reader_client, clinic.reader
    mosaic = Image.objects.get(case=first, kind=ImageKind.RCM_MOSAIC)

    # reading visit 1: the case, its images, viewer and tiles, quality, findings, the signed report
    for path in (f"/cases/{first.id}/", f"/cases/{first.id}/quality/", f"/cases/{first.id}/findings/",
                 f"/images/{mosaic.id}/", f"/images/{mosaic.id}/viewer/", f"/images/{mosaic.id}/thumbnail/",
                 f"/cases/{first.id}/report/", f"/cases/{first.id}/report/versions/", f"/cases/{first.id}/report/pdf/"):
        assert client.get(API + path).status_code == 200, path
    viewer = client.get(f"{API}/images/{mosaic.id}/viewer/").json()
    assert client.get(viewer["frames"][0]["dzi"]).status_code == 200
    listed = {i["id"] for i in client.get(f"{API}/images/", {"case": str(first.id)}).json()["results"]}
    assert listed == {str(i.id) for i in Image.objects.filter(case=first)}
    report = client.get(f"{API}/cases/{first.id}/report/").json()
    assert report["status"] == "signed" and report["diagnosis"] == "nv"
    # audited like every read, as this reader
    for action in ("view_image", "view_quality", "view_report", "download_report"):
        assert AuditEvent.objects.filter(actor=reader, action=action, outcome=AuditOutcome.SUCCESS).exists(), action
    # the reader's header of visit 1 identifies no one either
    body = client.get(f"{API}/cases/{first.id}/").json()
    assert body["patient_label"] is None and lesion.patient.mrn not in str(body)

    # another lesion of the same patient stays closed, and the attempt is audited
    other_image = Image.objects.filter(case=elsewhere).first()
    for path, target in ((f"/cases/{elsewhere.id}/", elsewhere.id), (f"/images/{other_image.id}/", other_image.id),
                         (f"/cases/{elsewhere.id}/quality/", elsewhere.id)):
        before = denied(reader, target)
        assert client.get(API + path).status_code == 404, path
        assert denied(reader, target) == before + 1, path

    # nothing on visit 1 can be written
    dermoscopy = Image.objects.get(case=first, kind=ImageKind.DERMOSCOPY)
    before = (Image.objects.filter(case=first).count(), ReportVersion.objects.filter(report__case=first).count(),
              Assignment.objects.filter(case=first).count())
    writes = [
        ("patch", f"/cases/{first.id}/", {"clinical_question": "x"}, {404}),
        ("post", f"/cases/{first.id}/recall/", {"reason": "x"}, {404}),
        ("post", f"/cases/{first.id}/submit/", {}, {404}),
        ("patch", f"/images/{mosaic.id}/", {"depth_um": 10}, {404}),
        ("delete", f"/images/{mosaic.id}/", None, {404}),
        ("put", f"/images/{mosaic.id}/registration/", {"dermoscopy": str(dermoscopy.id),
                                                      "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, {403, 404}),
        ("put", f"/images/{dermoscopy.id}/lesion-outline/", {"polygon": [[1, 1], [20, 1], [20, 20]]}, {403}),
        ("put", f"/images/{mosaic.id}/expert-annotation/", {"polygons": [[[1, 1], [20, 1], [20, 20]]]}, {403}),
        ("post", f"/cases/{first.id}/claim/", {}, {403}),
        ("post", f"/cases/{first.id}/release/", {}, {403}),
        ("put", f"/cases/{first.id}/report/", COMPLETE_REPORT, {403, 409}),
        ("post", f"/cases/{first.id}/report/amend/", {**COMPLETE_REPORT, "diagnosis": "mel", "reason": "x",
                                                      "password": PASSWORD}, {403}),
        ("post", f"/cases/{first.id}/report/sign/", {"password": PASSWORD}, {403}),
        ("post", f"/cases/{first.id}/assignment/", {"reader": reader.id}, {403}),
        ("delete", f"/cases/{first.id}/assignment/", None, {403}),
        ("post", f"/cases/{first.id}/analyses/rerun/", {}, {400, 403}),
    ]
    for method, path, data, allowed in writes:
        response = getattr(client, method)(API + path, data, format="json") if data is not None else \
            getattr(client, method)(API + path)
        assert response.status_code in allowed, (method, path, response.status_code, response.content)
    upload_response = upload(client, first, png_bytes(20, 20, color=7))
    assert upload_response.status_code == 404
    assert imaging_selectors.registration_of(mosaic=mosaic) is None
    first.refresh_from_db()
    mosaic.refresh_from_db()
    assert first.status == CaseStatus.SIGNED and first.clinical_question == "melanoma? please assess the junction"
    assert mosaic.depth_um == 60.0
    assert (Image.objects.filter(case=first).count(), ReportVersion.objects.filter(report__case=first).count(),
            Assignment.objects.filter(case=first).count()) == before
    assert Report.objects.get(case=first).diagnosis == "nv"


def test_the_access_to_visit_1_ends_with_the_assignment_of_visit_2():
    clinic = make_clinic()
    lesion = make_lesion(patient=make_patient(site=clinic.site, actor=clinic.tech), actor=clinic.tech)
    first = visit(clinic, lesion, datetime.date(2026, 5, 4))
    second = visit(clinic, lesion, datetime.date(2026, 11, 2))
    assert assign(clinic, second).status_code == 201
    mosaic = Image.objects.get(case=first, kind=ImageKind.RCM_MOSAIC)
    client = clinic.reader_client
    assert client.get(f"{API}/cases/{first.id}/").status_code == 200
    assert client.get(f"{API}/images/{mosaic.id}/viewer/").status_code == 200
    # an unsigned earlier visit: its images yes, its report (a draft or none) no
    assert client.get(f"{API}/cases/{first.id}/report/").status_code == 404

    assert clinic.admin_client.delete(f"{API}/cases/{second.id}/assignment/").status_code == 204
    for path in (f"/cases/{second.id}/", f"/cases/{first.id}/", f"/images/{mosaic.id}/", f"/images/{mosaic.id}/viewer/",
                 f"/cases/{first.id}/quality/", f"/cases/{second.id}/lesion-history/"):
        assert client.get(API + path).status_code == 404, path
    assert client.get(f"{API}/cases/").json()["results"] == []


def test_a_reader_of_an_earlier_visit_sees_no_later_one_and_no_earlier_draft():
    clinic = make_clinic()
    lesion = make_lesion(patient=make_patient(site=clinic.site, actor=clinic.tech), actor=clinic.tech)
    draft = visit(clinic, lesion, datetime.date(2026, 1, 5), submitted=False)
    first = visit(clinic, lesion, datetime.date(2026, 5, 4))
    later = visit(clinic, lesion, datetime.date(2026, 11, 2))
    assert assign(clinic, first).status_code == 201
    client = clinic.reader_client
    assert client.get(f"{API}/cases/{first.id}/").status_code == 200
    assert client.get(f"{API}/cases/{later.id}/").status_code == 404
    assert client.get(f"{API}/cases/{draft.id}/").status_code == 404
    assert [c["id"] for c in client.get(f"{API}/cases/").json()["results"]] == [str(first.id)]


def test_the_lesion_history_lists_the_visits_oldest_first_with_diagnosis_and_depths(django_assert_max_num_queries):
    clinic = make_clinic()
    lesion = make_lesion(patient=make_patient(site=clinic.site, actor=clinic.tech), actor=clinic.tech)
    first = visit(clinic, lesion, datetime.date(2026, 5, 4), depths=((90.0, "papillary_dermis"), (60.0, "dej")))
    signed_by_other_reader(clinic, first)
    second = visit(clinic, lesion, datetime.date(2026, 11, 2), depths=((60.0, "dej"),))
    later = visit(clinic, lesion, datetime.date(2027, 2, 1), depths=())
    assert assign(clinic, second).status_code == 201

    url = f"{API}/cases/{second.id}/lesion-history/"
    # the scope (sites, assignments) twice, the visits, their mosaics, their versions, the audit event
    with django_assert_max_num_queries(11):
        body = clinic.reader_client.get(url).json()
    assert body["case"] == str(second.id)
    visits = body["visits"]
    assert [v["case"] for v in visits] == [str(first.id), str(second.id)]  # the reader: this case and earlier ones
    assert [v["is_current"] for v in visits] == [False, True]
    one, two = visits
    assert one["status"] == "signed" and one["visit_date"] == "2026-05-04"
    assert one["signed_report"]["diagnosis"] == "nv" and one["signed_report"]["version"] == 1
    assert one["signed_report"]["diagnosis_label"].startswith("Melanocytic nevus")
    version = ReportVersion.objects.get(report__case=first)
    assert one["signed_report"]["signed_at"].replace("Z", "+00:00") == version.signed_at.isoformat()
    assert one["mosaic_count"] == 2
    assert [(m["depth_level"], m["depth_um"]) for m in one["mosaics"]] == [("dej", 60.0), ("papillary_dermis", 90.0)]
    assert two["signed_report"] is None and two["mosaic_count"] == 1 and two["status"] == "ready_for_reading"
    assert AuditEvent.objects.filter(actor=clinic.reader, action="view_lesion_history",
                                     object_id=str(second.id)).count() == 1

    # the clinic sees every visit, the later one too; the number of queries does not grow with them
    with django_assert_max_num_queries(11):
        clinic_visits = clinic.tech_client.get(url).json()["visits"]
    assert [v["case"] for v in clinic_visits] == [str(first.id), str(second.id), str(later.id)]
    assert clinic_visits[2]["mosaic_count"] == 0 and clinic_visits[2]["mosaics"] == []
    assert clinic.reader_client.get(f"{API}/cases/{first.id}/lesion-history/").status_code == 200
    assert clinic.reader_client.get(f"{API}/cases/{later.id}/lesion-history/").status_code == 404
    assert clinic.reader_client.get(f"{API}/cases/not-a-uuid/lesion-history/").status_code == 404
