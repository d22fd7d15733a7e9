"""Diagnosis (model B) on dermoscopy images and body-region maps on clinical photos, wired into the
analysis plans: the location B is given and where it came from, its re-run when a person records
the site, the site suggested from clinical photos, and the findings the reader sees."""

from __future__ import annotations


import numpy as np
import pytest

from dermrelay.accounts.models import Role
from dermrelay.analysis.models import AnalysisRun, ModelVersion
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.models import Case, CaseStatus
from inference.phantoms.encoding import jpeg_bytes
from inference.phantoms.generator import gate_phantom
from inference.serving.classification import LOCATIONS
from tests.gate.gate_cases import clinic_with_shipped_models
from tests.factories import api_client, clinical_photo_bytes, make_case, make_site, make_user, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clinic():
    return clinic_with_shipped_models()


def _dermoscopy() -> bytes:
    return jpeg_bytes(gate_phantom(seed=3, where="lesion").dermoscopy)


def _run(image_id, step) -> AnalysisRun:
    return AnalysisRun.objects.select_related("model_version").get(image_id=image_id, step=step)


def test_diagnosis_uses_the_recorded_anatomic_site(clinic):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    case.lesion.anatom_site = "Upper extremity:Hand:Dorsum of hand"
    case.lesion.save()
    image = upload(client, case, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    run = _run(image["id"], "diagnosis")
    assert run.state == "succeeded", run.last_error
    assert run.model_version.name == "dermoscopy-diagnosis-location"
    result = run.outputs
    assert result["location"] == {"location": "hand", "source": "recorded_anatomic_site",
                                  "anatom_site": "Upper extremity:Hand:Dorsum of hand", "anatom_site_general": "anterior torso"}
    assert [r["label"] for r in result["ranked"]] and len(result["ranked"]) == 7
    assert abs(sum(r["probability"] for r in result["ranked"]) - 1) < 1e-3
    assert result["ranked"] == sorted(result["ranked"], key=lambda r: -r["probability"])
    assert result["top"] == result["ranked"][0]["label"] and run.confidence == result["ranked"][0]["probability"]
    assert {"model_load_s", "read_s", "inference_s", "total_s"} <= set(run.timings)

    image_only = _run(image["id"], "diagnosis_image_only")  # model A beside B, for the reader
    assert image_only.model_version.name == "dermoscopy-diagnosis" and image_only.state == "succeeded"
    assert image_only.outputs["location"]["source"] == "not_used" and len(image_only.outputs["ranked"]) == 7

    findings = client.get(f"/api/v1/cases/{case.id}/findings/").json()
    assert sorted(f["step"] for f in findings["findings"]) == ["diagnosis", "diagnosis_image_only"]
    (entry,) = [f for f in findings["findings"] if f["step"] == "diagnosis"]
    assert entry["result"]["top"] == result["top"] and entry["model"]["name"] == "dermoscopy-diagnosis-location"
    assert "NOT FOR CLINICAL USE" in findings["disclaimer"]


def test_without_a_site_b_takes_the_body_region_models_location_and_records_the_region(clinic, settings):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    case.lesion.anatom_site_general = ""
    case.lesion.save()
    image = upload(client, case, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    location = _run(image["id"], "diagnosis").outputs["location"]
    assert location["source"] == "body_region_model" and location["location"] in LOCATIONS  # the default, the paper's way
    assert location["region"] in ("arm", "leg", "feet", "hand", "head", "trunk", "other") and 0 < location["region_probability"] <= 1
    assert location["region_model"]["name"] == "body-region"

    settings.DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK = "unknown"  # a clinic that wants B to see no guessed location
    case2 = make_case(site=site, actor=tech)
    case2.lesion.anatom_site_general = ""
    case2.lesion.save()
    image2 = upload(client, case2, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    location = _run(image2["id"], "diagnosis").outputs["location"]
    assert (location["location"], location["source"]) == ("unknown", "unknown") and "confirm" in location["note"]
    assert location["region_model"]["name"] == "body-region"

    ModelVersion.objects.filter(name="body-region").update(is_active=False)
    case3 = make_case(site=site, actor=tech)
    case3.lesion.anatom_site_general = "head/neck"  # too coarse for one HAM10000 location
    case3.lesion.save()
    image3 = upload(client, case3, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    location = _run(image3["id"], "diagnosis").outputs["location"]
    assert (location["location"], location["source"]) == ("unknown", "unknown") and "region" not in location


def test_recording_the_site_runs_the_diagnosis_again_but_not_for_a_signed_case(clinic):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    image = upload(client, case, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    assert _run(image["id"], "diagnosis").outputs["location"]["location"] == "trunk"  # 'anterior torso'
    response = client.patch(f"/api/v1/lesions/{case.lesion_id}/", {"anatom_site": "Lower extremity:Foot:Sole of foot"},
                            format="json")
    assert response.status_code == 200, response.content
    run = _run(image["id"], "diagnosis")
    assert run.state == "succeeded" and run.outputs["location"]["location"] == "acral"

    Case.objects.filter(pk=case.pk).update(status=CaseStatus.SIGNED)
    client.patch(f"/api/v1/lesions/{case.lesion_id}/", {"anatom_site": "Head and neck:Head:Scalp"}, format="json")
    assert _run(image["id"], "diagnosis").outputs["location"]["location"] == "acral"  # the signed report's input stays


def test_a_clinical_photo_gets_a_body_region_map_and_a_site_suggestion_a_person_confirms(clinic):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    case.lesion.anatom_site_general = ""
    case.lesion.save()
    dermoscopy = upload(client, case, _dermoscopy(), name="d.jpg", kind="dermoscopy").json()
    photo = upload(client, case, clinical_photo_bytes(), name="c.jpg", kind="clinical").json()
    run = _run(photo["id"], "body_region")
    assert run.state == "succeeded", run.last_error
    found = run.outputs
    grid = found["map"]
    assert grid["image_size"] == [1200, 900] and grid["patch"] == [600, 450]
    assert len(grid["regions"]) == len(grid["ys"]) == 3 and all(len(row) == len(grid["xs"]) == 3 for row in grid["regions"])
    assert found["region"] == found["ranked"][0]["label"] and run.confidence == found["ranked"][0]["probability"]
    assert np.allclose(np.mean(grid["probabilities"], axis=(0, 1)).max(), found["ranked"][0]["probability"], atol=2e-3)

    viewer = client.get(f"/api/v1/images/{photo['id']}/viewer/").json()
    (overlay,) = [o for o in viewer["overlays"] if o["kind"] == "body_region"]  # the map over the photo
    assert [entry["label"] for entry in overlay["legend"]] == ["arm", "leg", "feet", "hand", "head", "trunk", "other"]
    assert overlay["model"]["name"] == "body-region" and client.get(overlay["dzi"]).status_code == 200

    url = f"/api/v1/cases/{case.id}/anatomic-site-suggestion/"
    suggestion = client.get(url).json()
    assert suggestion["recorded"] is False and suggestion["region"] == found["region"]
    assert suggestion["from_images"][0]["image"] == photo["id"]
    if suggestion["suggestion"] is None:  # the model said 'other': a person must give the site
        assert client.post(url, {}, format="json").status_code == 400
        expected = {"anatom_site_general": "upper extremity", "anatom_site": "Upper extremity:Forearm"}
        response = client.post(url, expected, format="json")
    else:
        expected = suggestion["suggestion"]
        response = client.post(url, {}, format="json")
    assert response.status_code == 200, response.content
    case.lesion.refresh_from_db()
    assert {"anatom_site_general": case.lesion.anatom_site_general, "anatom_site": case.lesion.anatom_site} == expected
    assert response.json()["recorded"] is True
    event = AuditEvent.objects.filter(action="confirm_anatomic_site").get()
    assert event.actor_id == tech.id and event.object_id == str(case.lesion_id)
    assert _run(dermoscopy["id"], "diagnosis").outputs["location"]["source"] == "recorded_anatomic_site"

    assert client.post(url, {"anatom_site": "Elbow"}, format="json").status_code == 400  # not an ISIC term
    assert client.post(url, {"anatom_site_general": "torso"}, format="json").status_code == 400
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.SIGNED)
    assert client.post(url, {}, format="json").status_code == 409


def test_another_sites_user_sees_neither_findings_nor_suggestions(clinic):
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    stranger = api_client(make_user(role=Role.TECHNICIAN, site=make_site()))
    assert stranger.get(f"/api/v1/cases/{case.id}/findings/").status_code == 404
    assert stranger.get(f"/api/v1/cases/{case.id}/anatomic-site-suggestion/").status_code == 404
    assert stranger.post(f"/api/v1/cases/{case.id}/anatomic-site-suggestion/", {}, format="json").status_code == 404
