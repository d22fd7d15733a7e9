"""The answers the browser app is typed against are exactly what the OpenAPI schema says: a phantom
case goes the whole way (capture, quality, findings, a site's thresholds, an expert annotation,
a re-run, assignment, the worklist, a signed report) and each answer is checked key for key
against the published schema (tests/openapi_contract.py). A key a selector adds without its
serializer, or one it stops sending, fails here before the app's generated types drift."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dermrelay.analysis.catalogue import model_versions_sync
from dermrelay.analysis.models import ModelVersion
from inference.phantoms.generator import gate_phantom
from tests.factories import (
    PASSWORD, api_client, clinical_photo_bytes, make_case, make_judged_mosaic, make_site, make_user, upload,
)
from tests.gate.gate_cases import uninformative_polygon, upload_phantom_case
from tests.openapi_contract import assert_matches_schema
from tests.reading.helpers import API, COMPLETE_REPORT, assign, make_clinic, submit

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_phantom_case_answers_exactly_what_the_schema_says_from_capture_to_signature():
    model_versions_sync()
    clinic = make_clinic()
    tech, admin, reader = clinic.tech_client, clinic.admin_client, clinic.reader_client
    phantom = gate_phantom(seed=7, where="lesion")
    case = make_case(site=clinic.site, actor=clinic.tech)
    ids = upload_phantom_case(tech, case, phantom)
    clinical = upload(tech, case, clinical_photo_bytes(900, 700), name="clinical.jpg", kind="clinical")
    assert clinical.status_code == 201, clinical.content
    ids["clinical"] = clinical.json()["id"]

    # The capture page: the verdict, the images with their overlays, the model findings.
    quality = assert_matches_schema(tech.get(f"{API}/cases/{case.id}/quality/"), "/cases/{id}/quality/")
    (mosaic,) = quality["mosaics"]
    assert quality["state"] == "complete" and mosaic["state"] == "done" and mosaic["verdict"] == "reimage"
    assert mosaic["problem_region"] is not None and mosaic["run"]["state"] == "succeeded"
    for image_id, overlay in ((ids["mosaic"], "quality"), (ids["dermoscopy"], "projection"),
                              (ids["clinical"], "body_region")):
        viewer = assert_matches_schema(tech.get(f"{API}/images/{image_id}/viewer/"), "/images/{id}/viewer/")
        assert overlay in {o["kind"] for o in viewer["overlays"]}, viewer["overlays"]
    registration = assert_matches_schema(tech.get(f"{API}/images/{ids['mosaic']}/registration/"),
                                         "/images/{id}/registration/")
    assert registration["source"] == "device" and registration["landmarks"] is None
    proposal = tech.post(f"{API}/images/{ids['mosaic']}/registration/proposal/", {"dermoscopy": ids["dermoscopy"]},
                         format="json")
    assert_matches_schema(proposal, "/images/{id}/registration/proposal/", "post")
    pairs = [{"dermoscopy": [x, y], "mosaic": [2 * x + 5, 2 * y + 7]} for x, y in ((10, 10), (200, 30), (60, 180), (150, 150))]
    refitted = tech.put(f"{API}/images/{ids['mosaic']}/registration/",
                        {"dermoscopy": ids["dermoscopy"], "landmarks": pairs}, format="json")
    refitted = assert_matches_schema(refitted, "/images/{id}/registration/", "put")
    assert refitted["source"] == "landmarks" and len(refitted["landmarks"]) == 4 and refitted["rms_error_px"] < 1e-6
    restored = tech.put(f"{API}/images/{ids['mosaic']}/registration/",
                        {"dermoscopy": ids["dermoscopy"], "matrix": phantom.registration.tolist()}, format="json")
    assert restored.status_code == 200, restored.content
    findings = assert_matches_schema(tech.get(f"{API}/cases/{case.id}/findings/"), "/cases/{id}/findings/")
    assert {f["step"] for f in findings["findings"]} == {"diagnosis", "diagnosis_image_only", "body_region"}
    assert all(f["state"] == "succeeded" and "result" in f for f in findings["findings"]), findings
    runs = assert_matches_schema(tech.get(f"{API}/cases/{case.id}/analyses/"), "/cases/{id}/analyses/")
    assert {r["step"] for r in runs["runs"]} >= {"quality", "diagnosis", "body_region", "lesion_segmentation"}
    outline = assert_matches_schema(tech.get(f"{API}/images/{ids['dermoscopy']}/lesion-outline/"),
                                    "/images/{id}/lesion-outline/")
    assert outline["source"] == "person" and outline["has_model_outline"] is True
    redrawn = tech.put(f"{API}/images/{ids['dermoscopy']}/lesion-outline/", {"polygon": outline["polygon"]}, format="json")
    assert_matches_schema(redrawn, "/images/{id}/lesion-outline/", "put")
    suggestion = assert_matches_schema(tech.get(f"{API}/cases/{case.id}/anatomic-site-suggestion/"),
                                       "/cases/{id}/anatomic-site-suggestion/")
    assert suggestion["suggestion"] is not None and suggestion["from_images"], suggestion
    confirmed = tech.post(f"{API}/cases/{case.id}/anatomic-site-suggestion/", {}, format="json")
    confirmed = assert_matches_schema(confirmed, "/cases/{id}/anatomic-site-suggestion/", "post")
    assert confirmed["lesion"]["anatom_site"] == suggestion["suggestion"]["anatom_site"]
    assert_matches_schema(tech.get(f"{API}/analysis-plans/"), "/analysis-plans/")

    # The site administrator: thresholds, an expert's annotation, a re-run.
    url = f"{API}/sites/{clinic.site.id}/quality-policy/"
    assert assert_matches_schema(tech.get(url), "/sites/{id}/quality-policy/")["is_default"] is True
    policy = admin.put(url, {"review_at_percent": 4, "reimage_at_percent": 12}, format="json")
    assert assert_matches_schema(policy, "/sites/{id}/quality-policy/", "put")["is_default"] is False
    url = f"{API}/images/{ids['mosaic']}/expert-annotation/"
    saved = admin.put(url, {"polygons": [uninformative_polygon(phantom, ids["mosaic"])]}, format="json")
    saved = assert_matches_schema(saved, "/images/{id}/expert-annotation/", "put")
    assert saved["agreement"]["dice"] > 0.6 and saved["overlay"]["kind"] == "agreement"
    assert_matches_schema(admin.get(url), "/images/{id}/expert-annotation/")
    quality = assert_matches_schema(admin.get(f"{API}/cases/{case.id}/quality/"), "/cases/{id}/quality/")
    assert quality["mosaics"][0]["agreement"]["expert_name"], quality["mosaics"][0]["agreement"]
    version = ModelVersion.objects.get(name="dermoscopy-diagnosis", is_active=True)
    rerun = admin.post(f"{API}/cases/{case.id}/analyses/rerun/", {"model_version": version.id}, format="json")
    assert len(assert_matches_schema(rerun, "/cases/{id}/analyses/rerun/", "post")["runs"]) == 1

    # The reader: their worklist, the assignment, the draft and then the signed report.
    submit(clinic, case)
    assert assign(clinic, case).status_code == 201
    assignment = assert_matches_schema(admin.get(f"{API}/cases/{case.id}/assignment/"), "/cases/{id}/assignment/")
    assert assignment["active"]["reader"]["id"] == clinic.reader.id
    worklist = assert_matches_schema(reader.get(f"{API}/worklist/"), "/worklist/")
    assert [row["case"] for row in worklist["results"]] == [str(case.id)]
    assert reader.post(f"{API}/cases/{case.id}/claim/").status_code == 200
    draft = assert_matches_schema(reader.get(f"{API}/cases/{case.id}/report/"), "/cases/{id}/report/")
    assert draft["quality"]["verdict"] == quality["verdict"] and draft["quality_frozen"] is False
    assert reader.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    signed = reader.post(f"{API}/cases/{case.id}/report/sign/", {"password": PASSWORD}, format="json")
    assert signed.status_code == 201, signed.content
    report = assert_matches_schema(reader.get(f"{API}/cases/{case.id}/report/"), "/cases/{id}/report/")
    assert report["quality_frozen"] is True and report["versions"][0]["signed_by"]["id"] == clinic.reader.id


def test_the_check_fails_on_a_key_too_many_a_key_missing_and_a_value_out_of_its_set():
    """The contract check itself can fail: the answers it is given differ from the schema in one way each."""
    site = make_site()
    tech = make_user(role="technician", site=site)
    judged = make_judged_mosaic(site=site, percent_whole=30.0, technician=tech)
    response = api_client(tech).get(f"{API}/cases/{judged.image.case_id}/quality/")
    body = assert_matches_schema(response, "/cases/{id}/quality/")

    def altered(change) -> SimpleNamespace:
        copy = {**body, "mosaics": [dict(m) for m in body["mosaics"]]}
        change(copy)
        return SimpleNamespace(status_code=200, content=b"", json=lambda: copy)

    extra = altered(lambda b: b["mosaics"][0].update(percent_inside=1.0))
    missing = altered(lambda b: b.pop("verdict"))
    outside = altered(lambda b: b.update(state="finished"))
    for response, says in ((extra, "percent_inside"), (missing, "verdict"), (outside, "finished")):
        with pytest.raises(AssertionError, match=says):
            assert_matches_schema(response, "/cases/{id}/quality/")
