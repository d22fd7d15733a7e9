"""Readers draw on the images of the cases assigned to them: an expert's uninformative areas on a
mosaic (agreement figures and overlay follow, as for a site admin) and the lesion outline on the
dermoscopy image (the verdict follows). Nothing else of the clinic's becomes theirs: a case not
assigned to them is a 404, and a signed case refuses every change with a 409."""

from __future__ import annotations

import pytest

from dermrelay.accounts.models import Role
from dermrelay.gate.models import ExpertAnnotation, LesionOutline, MosaicQuality
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases.models import Case, CaseStatus
from inference.phantoms.generator import gate_phantom
from inference.phantoms.outlines import lesion_polygon
from tests.gate.gate_cases import (
    assigned_phantom_case, models_sync_quality_model_only, uninformative_polygon,
)
from tests.factories import PASSWORD, api_client, make_user
from tests.reading.helpers import API, COMPLETE_REPORT, assign, make_clinic

pytestmark = pytest.mark.django_db(transaction=True)

AGREEMENT_COLOURS = {"#00c800", "#ffe600", "#ff00ff"}


@pytest.fixture
def clinic():
    models_sync_quality_model_only()
    return make_clinic()


def the_mosaic(client, case) -> dict:
    response = client.get(f"{API}/cases/{case.id}/quality/")
    assert response.status_code == 200, response.content
    (mosaic,) = response.json()["mosaics"]
    return mosaic


def sign(clinic, case) -> None:
    client = clinic.reader_client
    assert client.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    assert client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    response = client.post(f"{API}/cases/{case.id}/report/sign/", {"password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content


def test_the_assigned_reader_annotates_a_mosaic_and_gets_the_agreement_figures_and_overlay(clinic):
    phantom = gate_phantom(seed=7, where="lesion")
    case, ids = assigned_phantom_case(clinic, phantom)
    reader, client = clinic.reader, clinic.reader_client
    url = f"{API}/images/{ids['mosaic']}/expert-annotation/"

    response = client.put(url, {"polygons": [uninformative_polygon(phantom, ids["mosaic"])]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    agreement = body["agreement"]
    assert agreement["expert"] == str(reader.id) and agreement["dice"] > 0.6, agreement
    assert agreement["expert_name"] == (reader.get_full_name() or reader.username)  # a name to show, not an id
    # the expert's own % and the model's signed error against it (what model monitoring reads)
    assert 0 < agreement["expert_percent_whole"] <= 100
    assert agreement["percent_signed_error"] == pytest.approx(the_mosaic(client, case)["percent_whole"] - agreement["expert_percent_whole"], abs=0.02)
    for figure in ("sensitivity", "specificity", "dice"):
        assert 0.0 <= agreement[figure] <= 1.0, agreement
    assert body["overlay"]["kind"] == "agreement" and body["overlay"]["source_image"] == ids["mosaic"]
    assert {entry["colour"] for entry in body["overlay"]["legend"]} == AGREEMENT_COLOURS
    assert body["overlay"]["dzi"].startswith("http") and "/overlay.dzi" in body["overlay"]["dzi"]

    # The same figures for everyone who reads the case, and the overlay in the reader's viewer.
    assert the_mosaic(client, case)["agreement"] == agreement == the_mosaic(clinic.tech_client, case)["agreement"]
    viewer = client.get(f"{API}/images/{ids['mosaic']}/viewer/").json()
    (overlay,) = [o for o in viewer["overlays"] if o["kind"] == "agreement"]
    assert overlay["id"] == body["overlay"]["id"]
    got = client.get(url).json()
    assert got["author"] == reader.id and len(got["polygons"]) == 1
    stored = ExpertAnnotation.objects.get()
    assert stored.created_by == reader
    event = AuditEvent.objects.get(actor=reader, action="update", object_type="expert_annotation")
    assert event.object_id == ids["mosaic"] and event.site_id == clinic.site.id and event.detail == {"polygons": 1}

    # A site admin's later annotation counts from then on; each removes only their own.
    corner = [[0, 0], [60, 0], [60, 60], [0, 60]]
    response = clinic.admin_client.put(url, {"polygons": [corner]}, format="json")
    assert response.status_code == 200 and response.json()["agreement"]["expert"] == str(clinic.admin.id)
    assert ExpertAnnotation.objects.count() == 2
    assert client.delete(url).status_code == 204
    assert list(ExpertAnnotation.objects.values_list("created_by", flat=True)) == [clinic.admin.id]
    assert client.delete(url).status_code == 404  # nothing of theirs is left to delete
    assert AuditEvent.objects.filter(actor=reader, action="delete", object_type="expert_annotation").count() == 1
    assert the_mosaic(client, case)["agreement"]["expert"] == str(clinic.admin.id)


def test_the_assigned_reader_outlines_the_lesion_and_the_verdict_follows(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion")
    case, ids = assigned_phantom_case(clinic, phantom, outline=False)
    reader, client = clinic.reader, clinic.reader_client
    before = the_mosaic(client, case)
    assert before["basis"] == "whole_mosaic" and before["verdict"] == "reimage"
    url = f"{API}/images/{ids['dermoscopy']}/lesion-outline/"

    response = client.put(url, {"polygon": lesion_polygon(phantom)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["source"] == "person"
    after = the_mosaic(client, case)
    assert after["basis"] == "lesion" and after["verdict"] == "acceptable" and after["lesion_source"] == "person"
    assert LesionOutline.objects.get().created_by == reader
    assert AuditEvent.objects.filter(actor=reader, action="update", object_type="lesion_outline",
                                     object_id=ids["dermoscopy"]).count() == 1

    # They may register the mosaic too (drawn on the images, like the outline), by landmark pairs: the
    # fit, who made it and its error in µm are recorded, and the mosaic is judged again at once.
    matrix = phantom.registration
    corners = [[20.0, 30.0], [400.0, 40.0], [60.0, 300.0], [350.0, 280.0]]
    landmarks = [{"dermoscopy": point, "mosaic": [float(v) for v in (matrix @ [*point, 1.0])[:2]]} for point in corners]
    response = client.put(f"{API}/images/{ids['mosaic']}/registration/",
                          {"dermoscopy": ids["dermoscopy"], "landmarks": landmarks}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "landmarks" and body["rms_error_um"] < 0.01 and body["created_by"] == reader.username
    assert AuditEvent.objects.filter(actor=reader, action="update", object_type="registration").count() == 1
    assert the_mosaic(client, case)["verdict"] == "acceptable"
    # Everything else stays the clinic's.
    assert client.patch(f"{API}/cases/{case.id}/", {"device": "changed"}, format="json").status_code == 404
    assert Case.objects.get(pk=case.pk).device == "test"

    assert client.delete(url).status_code == 204
    assert the_mosaic(client, case)["basis"] == "whole_mosaic"


def test_a_reader_without_the_assignment_gets_a_404_and_a_technician_no_expert_annotation(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = assigned_phantom_case(clinic, phantom, outline=False)
    colleague = make_user(role=Role.READER, site=clinic.site)
    polygons = {"polygons": [[[0, 0], [100, 0], [100, 100], [0, 100]]]}
    polygon = {"polygon": lesion_polygon(phantom)}
    writes = [("put", f"{API}/images/{ids['mosaic']}/expert-annotation/", polygons, ids["mosaic"]),
              ("delete", f"{API}/images/{ids['mosaic']}/expert-annotation/", None, ids["mosaic"]),
              ("put", f"{API}/images/{ids['dermoscopy']}/lesion-outline/", polygon, ids["dermoscopy"]),
              ("delete", f"{API}/images/{ids['dermoscopy']}/lesion-outline/", None, ids["dermoscopy"])]

    def attempt(client, method, url, data):
        return getattr(client, method)(url, data, format="json") if data else getattr(client, method)(url)

    for method, url, data, object_id in writes:
        before = AuditEvent.objects.filter(actor=colleague, object_id=object_id, outcome=AuditOutcome.DENIED).count()
        response = attempt(api_client(colleague), method, url, data)
        assert response.status_code == 404 and response.json()["code"] == "not_found", (method, url, response.content)
        assert AuditEvent.objects.filter(actor=colleague, object_id=object_id,
                                         outcome=AuditOutcome.DENIED).count() == before + 1

    # Reassigned: the first reader's access ends with the assignment, annotations included.
    assert assign(clinic, case, reader=colleague).status_code == 201
    for method, url, data, _ in writes:
        assert attempt(clinic.reader_client, method, url, data).status_code == 404, (method, url)
    assert attempt(api_client(colleague), *writes[0][:3]).status_code == 200

    # Technicians outline lesions but do not write expert annotations (a named refusal, audited).
    response = attempt(clinic.tech_client, *writes[0][:3])
    assert response.status_code == 403, response.content
    assert "site administrator" in response.json()["detail"] and "assigned" in response.json()["detail"]
    assert AuditEvent.objects.filter(actor=clinic.tech, action="update_expert_annotation",
                                     outcome=AuditOutcome.DENIED).count() == 1
    assert list(ExpertAnnotation.objects.values_list("created_by", flat=True)) == [colleague.id]
    assert not LesionOutline.objects.exists()


def test_a_signed_case_refuses_the_readers_annotations_with_a_409(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = assigned_phantom_case(clinic, phantom)
    client = clinic.reader_client
    annotation_url = f"{API}/images/{ids['mosaic']}/expert-annotation/"
    outline_url = f"{API}/images/{ids['dermoscopy']}/lesion-outline/"
    square = [[0, 0], [100, 0], [100, 100], [0, 100]]
    assert client.put(annotation_url, {"polygons": [square]}, format="json").status_code == 200
    sign(clinic, case)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SIGNED
    judged_before = MosaicQuality.objects.values("verdict", "basis", "agreement").get()
    outline_before = LesionOutline.objects.get().updated_at

    refusals = [("put", annotation_url, {"polygons": [[[0, 0], [50, 0], [50, 50]]]}, "expert annotations"),
                ("delete", annotation_url, None, "expert annotations"),
                ("put", outline_url, {"polygon": [[10, 10], [200, 10], [200, 200]]}, "lesion outline"),
                ("delete", outline_url, None, "lesion outline")]
    for method, url, data, words in refusals:
        response = getattr(client, method)(url, data, format="json") if data else getattr(client, method)(url)
        assert response.status_code == 409, (method, url, response.content)
        body = response.json()
        assert body["code"] == "case_locked" and "signed" in body["detail"] and words in body["detail"], body
    assert ExpertAnnotation.objects.get().polygons == [square]
    assert LesionOutline.objects.get().updated_at == outline_before
    assert MosaicQuality.objects.values("verdict", "basis", "agreement").get() == judged_before
    # the signed version keeps what it was signed with
    assert client.get(annotation_url).status_code == 200
