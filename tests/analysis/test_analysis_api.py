"""The analysis API end to end (tasks run eagerly in-process): the case quality answer (polling and
Server-Sent Events), the lesion outline, site thresholds, expert annotations, re-runs, scoping,
notifications, model versions and analysis plans.

Phantom cases with known ground truth go through upload → derivation → quality run → judgement.
Where the exact figures matter the seeds of test_quality_gate.py are used at their default size."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from dermrelay.accounts.models import Role
from dermrelay.analysis.models import AnalysisRun, ModelStatus, ModelVersion, Overlay
from dermrelay.gate.models import ExpertAnnotation, LesionOutline, MosaicQuality, QualityPolicy
from dermrelay.gate.judgement import mosaic_quality_assess, quality_assess_stale
from dermrelay.audit.models import AuditEvent
from dermrelay.cases.models import Case, Image, ImageKind
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.notifications.models import Notification
from dermrelay.notifications.services import notification_send
from inference.phantoms.generator import gate_phantom
from inference.phantoms.outlines import lesion_polygon, mask_polygon
from tests.gate.gate_cases import models_sync_quality_model_only, png_of, upload_phantom_case
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)

AGREEMENT_COLOURS = {"#00c800", "#ffe600", "#ff00ff"}


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def clinic():
    """A site with a technician and a site administrator (and the shipped models registered)."""
    models_sync_quality_model_only()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    return {"site": site, "tech": tech, "admin": admin, "client": api_client(tech), "admin_client": api_client(admin)}


def quality_of(client, case) -> dict:
    response = client.get(f"/api/v1/cases/{case.id}/quality/")
    assert response.status_code == 200, response.content
    return response.json()


def only_mosaic(body: dict) -> dict:
    (mosaic,) = body["mosaics"]
    return mosaic


def phantom_case(clinic, phantom, **kwargs):
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    ids = upload_phantom_case(clinic["client"], case, phantom, **kwargs)
    return case, ids


def fields_text(response) -> str:
    """The whole error answer as lower-case text (field names and messages)."""
    return json.dumps(response.json()).lower()


def sse_events(response) -> list[tuple[str, str]]:
    """(field, value) per SSE block: ('retry', '3000'), ('quality', '{json}'), ('done', ...), (':', comment)."""
    text = b"".join(response.streaming_content).decode()
    assert text.endswith("\n\n"), text[-200:]
    blocks = []
    for block in text.split("\n\n")[:-1]:
        lines = block.split("\n")
        if lines[0].startswith("retry:"):
            blocks.append(("retry", lines[0].split(":", 1)[1].strip()))
        elif lines[0].startswith(":"):
            blocks.append((":", lines[0]))
        else:
            assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
            blocks.append((lines[0][len("event: "):], lines[1][len("data: "):]))
    return blocks


def region_polygon(mask: np.ndarray, *, points: int = 180) -> list[list[float]]:
    return mask_polygon(mask, points=points)


TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*(Z|[+-]\d\d:\d\d)$")


def to_milliseconds(value):
    """The same JSON with ISO timestamps cut to milliseconds."""
    if isinstance(value, dict):
        return {k: to_milliseconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_milliseconds(v) for v in value]
    if isinstance(value, str):
        return TIMESTAMP.sub(r"\1\2", value)
    return value


def differences(a, b, path="") -> list[str]:
    """Where two JSON values differ: 'path: left != right' per differing leaf."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def denials(user, object_id) -> int:
    return AuditEvent.objects.filter(actor=user, object_id=str(object_id), outcome="denied").count()


def denied(user, object_id) -> bool:
    return denials(user, object_id) > 0


# --------------------------------------------------------------------------- 1. the case quality answer


def test_a_case_without_mosaics_says_so(clinic):
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    body = quality_of(clinic["client"], case)
    assert body["state"] == "no_mosaics" and body["mosaics"] == []
    assert body["verdict"] is None and body["verdict_is_final"] is False
    assert body["thresholds"] == {"review_at_percent": 10.0, "reimage_at_percent": 20.0}
    event = AuditEvent.objects.get(action="view_quality", object_id=str(case.id))
    assert event.actor == clinic["tech"] and event.outcome == "success" and event.site_id == clinic["site"].id


def test_a_mosaic_without_pixel_spacing_fails_visibly_and_the_case_stays_readable(clinic):
    client = clinic["client"]
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    response = upload(client, case, png_of(gate_phantom(seed=2, where="outside_lesion", size_px=512).image),
                      name="mosaic.png", kind=ImageKind.RCM_MOSAIC, depth_level="dej")
    assert response.status_code == 201, response.content
    mosaic_id = response.json()["id"]
    assert response.json()["pixel_spacing_um"] is None

    body = quality_of(client, case)
    mosaic = only_mosaic(body)
    assert mosaic["state"] == "failed"
    assert "pixel spacing" in mosaic["error"] and "pixel_spacing_um" in mosaic["error"]
    assert mosaic["run"]["state"] == "failed" and mosaic["run"]["error"] == mosaic["error"]
    assert mosaic["verdict"] is None
    assert body["state"] == "complete" and body["verdict"] is None and body["verdict_is_final"] is False
    assert body["failed"] == 1
    assert client.get(f"/api/v1/cases/{case.id}/").status_code == 200
    assert client.get(f"/api/v1/images/{mosaic_id}/").status_code == 200
    note = Notification.objects.get(user=clinic["tech"])
    assert note.kind == "analysis_failed" and "pixel spacing" in note.message and str(note.image_id) == mosaic_id
    assert [n["kind"] for n in client.get("/api/v1/notifications/").json()["results"]] == ["analysis_failed"]

    # After the fix the admin re-runs it: the same run, judged this time.
    response = client.patch(f"/api/v1/images/{mosaic_id}/", {"pixel_spacing_um": 2.0}, format="json")
    assert response.status_code == 200, response.content
    version = ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    response = clinic["admin_client"].post(f"/api/v1/cases/{case.id}/analyses/rerun/", {"model_version": version.id},
                                           format="json")
    assert response.status_code == 202, response.content
    mosaic = only_mosaic(quality_of(client, case))
    assert mosaic["state"] == "done" and mosaic["error"] is None and mosaic["verdict"] is not None
    assert AnalysisRun.objects.filter(image_id=mosaic_id).count() == 1


# --------------------------------------------------------------------------- 2. Server-Sent Events


def test_the_stream_of_a_finished_case_sends_the_answer_then_done_and_ends(clinic, settings):
    settings.DERMRELAY_SSE_MAX_SECONDS = 10  # a stream that does not end fails instead of hanging
    case, ids = phantom_case(clinic, gate_phantom(seed=2, where="outside_lesion", size_px=512), outline=False)
    client = clinic["client"]
    response = client.get(f"/api/v1/cases/{case.id}/quality/stream/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    events = sse_events(response)
    assert [name for name, _ in events] == ["retry", "quality", "progress", "done"], events
    assert int(events[0][1]) > 0
    polled = quality_of(client, case)
    assert polled["state"] == "complete"
    streamed = json.loads(events[1][1])
    assert to_milliseconds(streamed) == to_milliseconds(polled), differences(streamed, polled)
    progress = json.loads(events[2][1])
    assert progress["case_status"] == "draft" and not progress["case_moving"]
    assert {image for image, _ in progress["images"]} == set(ids.values()) and all(s == "ready" for _, s in progress["images"])
    assert progress["runs"] and all(state == "succeeded" for _, state, _ in progress["runs"])
    assert json.loads(events[3][1]) == {"state": "complete", "verdict": polled["verdict"]}
    assert AuditEvent.objects.filter(action="view_quality", object_id=str(case.id), detail__stream=True).count() == 1


def test_the_streamed_answer_is_exactly_the_polled_one(clinic, settings):
    """The `quality` event promises the body of `quality/`: timestamps included, to the microsecond
    (a client that compares `assessed_at` or `finished_at` between the two must not see a change)."""
    settings.DERMRELAY_SSE_MAX_SECONDS = 10
    case, _ = phantom_case(clinic, gate_phantom(seed=2, where="outside_lesion", size_px=512), outline=False)
    events = sse_events(clinic["client"].get(f"/api/v1/cases/{case.id}/quality/stream/"))
    streamed, polled = json.loads(events[1][1]), quality_of(clinic["client"], case)
    assert streamed == polled, differences(streamed, polled)


def test_the_stream_answers_a_browser_that_accepts_only_event_streams(clinic, settings):
    settings.DERMRELAY_SSE_MAX_SECONDS = 10
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    response = clinic["client"].get(f"/api/v1/cases/{case.id}/quality/stream/", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"].startswith("text/event-stream")
    events = sse_events(response)
    assert [name for name, _ in events] == ["retry", "quality", "progress", "done"]
    assert json.loads(events[1][1])["state"] == "no_mosaics"


def test_the_stream_of_a_pending_case_times_out_with_an_event(clinic, settings):
    settings.DERMRELAY_SSE_MAX_SECONDS = 0.5
    settings.DERMRELAY_SSE_POLL_SECONDS = 0.1
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    response = upload(clinic["client"], case, png_bytes(256, 256), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", pixel_spacing_um=2.0)
    assert response.status_code == 201
    Image.objects.filter(pk=response.json()["id"]).update(status="processing")  # still being prepared
    events = sse_events(clinic["client"].get(f"/api/v1/cases/{case.id}/quality/stream/"))
    names = [name for name, _ in events]
    assert names[:2] == ["retry", "quality"] and names[-1] == "timeout" and "done" not in names
    assert names.count("quality") == 1  # an unchanged answer is not sent again
    assert json.loads(events[1][1])["state"] == "pending"


def test_the_stream_follows_a_submitted_case_until_the_platform_moves_it_on(clinic, settings):
    """After "Submit for reading" the capture page learns the case's status from the stream, not
    from a reload: a case the platform is still processing keeps its stream open."""
    settings.DERMRELAY_SSE_MAX_SECONDS = 0.5
    settings.DERMRELAY_SSE_POLL_SECONDS = 0.1
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    Case.objects.filter(pk=case.pk).update(status="processing")
    events = sse_events(clinic["client"].get(f"/api/v1/cases/{case.id}/quality/stream/"))
    names = [name for name, _ in events]
    assert names == ["retry", "quality", "progress", "timeout"], names
    assert json.loads(events[2][1])["case_status"] == "processing"
    Case.objects.filter(pk=case.pk).update(status="ready_for_reading")
    events = sse_events(clinic["client"].get(f"/api/v1/cases/{case.id}/quality/stream/"))
    assert [name for name, _ in events] == ["retry", "quality", "progress", "done"]
    assert json.loads(events[2][1])["case_status"] == "ready_for_reading"


# --------------------------------------------------------------------------- 3. the lesion outline


def test_a_persons_outline_changes_the_verdict_at_once_and_deleting_it_goes_back(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion")
    case, ids = phantom_case(clinic, phantom, outline=False)
    client = clinic["client"]
    before = only_mosaic(quality_of(client, case))
    assert before["basis"] == "whole_mosaic" and before["verdict"] == "reimage"
    assert client.get(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/").status_code == 404

    response = client.put(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/",
                          {"polygon": lesion_polygon(phantom)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["source"] == "person" and len(response.json()["polygon"]) == 180
    body = quality_of(client, case)
    mosaic = only_mosaic(body)
    assert mosaic["basis"] == "lesion" and mosaic["verdict"] == "acceptable" and mosaic["lesion_source"] == "person"
    assert body["verdict"] == "acceptable"
    assert body["lesion_outline"] == {"image": ids["dermoscopy"], "source": "person"}

    got = client.get(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/")
    assert got.status_code == 200 and got.json()["source"] == "person" and got.json()["has_model_outline"] is False

    assert client.delete(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/").status_code == 204
    assert not LesionOutline.objects.exists()
    after = quality_of(client, case)
    assert only_mosaic(after)["basis"] == "whole_mosaic" and after["verdict"] == "reimage"
    assert after["lesion_outline"] is None
    assert client.get(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/").status_code == 404


BAD_POLYGONS = {
    "too few points": ([[10, 10], [100, 10]], "polygon"),
    "not numbers": ([[10, 10], ["left", 10], [100, 100]], "polygon"),
    "not pairs": ([[10, 10, 3], [100, 10, 3], [100, 100, 3]], "polygon"),
    "NaN": ([[10, 10], ["NaN", 10], [100, 100]], "polygon"),
    "infinity": ([[10, 10], ["Infinity", 10], [100, 100]], "polygon"),
    "far outside": ([[10, 10], [5000, 10], [100, 100]], "leaves the image"),
    "collinear": ([[10, 10], [50, 50], [100, 100]], "no area"),
    "not a list": ("10,10 50,50 100,10", "polygon"),
}


def test_bad_outlines_are_refused_with_a_clear_message_and_change_nothing(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion")
    case, ids = phantom_case(clinic, phantom)  # a good outline first: the verdict is lesional
    client = clinic["client"]
    url = f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/"
    outline_before = client.get(url).json()
    judged_before = MosaicQuality.objects.values("verdict", "basis", "percent_lesion").get()
    audits_before = AuditEvent.objects.filter(object_type="lesion_outline").count()
    for name, (polygon, words) in BAD_POLYGONS.items():
        response = client.put(url, {"polygon": polygon}, format="json")
        assert response.status_code == 400, (name, response.content)
        assert words in fields_text(response), (name, response.json())
    # Bare NaN in the JSON body (not valid JSON) is refused too.
    raw = '{"polygon": [[10, 10], [NaN, 10], [100, 100]]}'
    response = client.generic("PUT", url, raw, content_type="application/json")
    assert response.status_code == 400, response.content

    assert client.get(url).json() == outline_before
    assert LesionOutline.objects.count() == 1
    assert MosaicQuality.objects.values("verdict", "basis", "percent_lesion").get() == judged_before
    assert AuditEvent.objects.filter(object_type="lesion_outline").count() == audits_before


def test_an_outline_on_a_mosaic_is_refused(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    response = clinic["client"].put(f"/api/v1/images/{ids['mosaic']}/lesion-outline/",
                                    {"polygon": [[10, 10], [200, 10], [200, 200]]}, format="json")
    assert response.status_code == 400, response.content
    assert "dermoscopy" in fields_text(response)
    assert not LesionOutline.objects.exists()


def test_the_outline_of_a_signed_case_cannot_change(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    Case.objects.filter(pk=case.pk).update(status="signed")
    url = f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/"
    judged_before = MosaicQuality.objects.values("verdict", "basis").get()
    response = clinic["client"].put(url, {"polygon": lesion_polygon(phantom)}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "case_locked"
    assert not LesionOutline.objects.exists()
    assert clinic["client"].delete(url).status_code == 409
    assert MosaicQuality.objects.values("verdict", "basis").get() == judged_before


# --------------------------------------------------------------------------- 4. site thresholds


def test_site_thresholds_default_then_set_by_a_site_admin_and_applied_to_open_cases(clinic):
    site, client, admin_client = clinic["site"], clinic["client"], clinic["admin_client"]
    url = f"/api/v1/sites/{site.id}/quality-policy/"
    assert client.get(url).json() == {"review_at_percent": 10.0, "reimage_at_percent": 20.0, "is_default": True}

    # About 10% of the imaged lesion lacks contact: "review" by the defaults, "reimage" at 5/8.
    phantom = gate_phantom(seed=7, where="lesion", fraction=0.12)
    case, _ = phantom_case(clinic, phantom)
    before = only_mosaic(quality_of(client, case))
    assert before["basis"] == "lesion" and 10 <= before["percent_lesion"] < 20, before  # measured: about 12%
    assert before["verdict"] == "review"
    assert before["thresholds"] == {"review_at_percent": 10.0, "reimage_at_percent": 20.0}

    response = client.put(url, {"review_at_percent": 5, "reimage_at_percent": 8}, format="json")
    assert response.status_code == 403
    response = admin_client.put(url, {"review_at_percent": 15, "reimage_at_percent": 10}, format="json")
    assert response.status_code == 400 and "review" in fields_text(response)
    for bad in ({"review_at_percent": 0, "reimage_at_percent": 8}, {"review_at_percent": 5, "reimage_at_percent": 101},
                {"review_at_percent": 5}, {"review_at_percent": "many", "reimage_at_percent": 8}):
        assert admin_client.put(url, bad, format="json").status_code == 400, bad
    assert not QualityPolicy.objects.exists()

    response = admin_client.put(url, {"review_at_percent": 5, "reimage_at_percent": 8}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"review_at_percent": 5.0, "reimage_at_percent": 8.0, "is_default": False}
    assert client.get(url).json() == {"review_at_percent": 5.0, "reimage_at_percent": 8.0, "is_default": False}
    assert AuditEvent.objects.filter(action="update", object_type="quality_policy", actor=clinic["admin"]).exists()

    body = quality_of(client, case)  # judged with the old thresholds until the reconciler runs
    assert body["thresholds"] == {"review_at_percent": 5.0, "reimage_at_percent": 8.0}
    assert only_mosaic(body)["thresholds"] == {"review_at_percent": 10.0, "reimage_at_percent": 20.0}

    assert quality_assess_stale() == 1
    body = quality_of(client, case)
    mosaic = only_mosaic(body)
    assert mosaic["thresholds"] == {"review_at_percent": 5.0, "reimage_at_percent": 8.0}
    assert mosaic["verdict"] == body["verdict"] == "reimage"
    assert mosaic["percent_lesion"] == before["percent_lesion"]
    assert quality_assess_stale() == 0  # nothing left to re-judge


def test_another_sites_policy_is_not_found(clinic):
    other = make_site()
    response = clinic["admin_client"].get(f"/api/v1/sites/{other.id}/quality-policy/")
    assert response.status_code == 404
    response = clinic["admin_client"].put(f"/api/v1/sites/{other.id}/quality-policy/",
                                          {"review_at_percent": 5, "reimage_at_percent": 8}, format="json")
    assert response.status_code == 404
    assert not QualityPolicy.objects.exists()
    assert denied(clinic["admin"], other.id)


# --------------------------------------------------------------------------- 5. expert annotations


def test_expert_annotation_gives_agreement_figures_and_an_overlay(clinic):
    phantom = gate_phantom(seed=7, where="lesion")
    case, ids = phantom_case(clinic, phantom)
    mosaic_image = Image.objects.get(pk=ids["mosaic"])
    crop = imaging_selectors.pyramid_of(image=mosaic_image).crop
    dx, dy = (crop[0], crop[1]) if crop else (0, 0)  # polygons are in viewable-mosaic pixels
    truth = phantom.uninformative & phantom.valid
    good = [[x - dx, y - dy] for x, y in region_polygon(truth)]
    corner = [[0, 0], [60, 0], [60, 60], [0, 60]]
    url = f"/api/v1/images/{ids['mosaic']}/expert-annotation/"

    response = clinic["client"].put(url, {"polygons": [good]}, format="json")
    assert response.status_code == 403
    assert not ExpertAnnotation.objects.exists()

    response = clinic["admin_client"].put(url, {"polygons": [good]}, format="json")
    assert response.status_code == 200, response.content
    agreement = only_mosaic(quality_of(clinic["client"], case))["agreement"]
    assert response.json()["agreement"] == agreement
    for figure in ("sensitivity", "specificity", "dice"):
        assert 0.0 <= agreement[figure] <= 1.0, agreement
    assert agreement["dice"] > 0.6 and agreement["expert"] == str(clinic["admin"].id)
    got = clinic["client"].get(url)
    assert got.status_code == 200 and len(got.json()["polygons"]) == 1

    viewer = clinic["client"].get(f"/api/v1/images/{ids['mosaic']}/viewer/").json()
    (overlay,) = [o for o in viewer["overlays"] if o["kind"] == "agreement"]
    assert {entry["colour"] for entry in overlay["legend"]} == AGREEMENT_COLOURS
    assert overlay["source_image"] == ids["mosaic"]

    response = clinic["admin_client"].put(url, {"polygons": [corner]}, format="json")
    assert response.status_code == 200, response.content
    unrelated = only_mosaic(quality_of(clinic["client"], case))["agreement"]
    for figure in ("sensitivity", "specificity", "dice"):
        assert 0.0 <= unrelated[figure] <= 1.0, unrelated
    assert unrelated["dice"] < agreement["dice"] - 0.5
    assert ExpertAnnotation.objects.count() == 1  # one per author, replaced

    assert clinic["admin_client"].delete(url).status_code == 204
    assert not ExpertAnnotation.objects.exists()
    assert only_mosaic(quality_of(clinic["client"], case))["agreement"] is None
    viewer = clinic["client"].get(f"/api/v1/images/{ids['mosaic']}/viewer/").json()
    assert [o["kind"] for o in viewer["overlays"] if o["kind"] == "agreement"] == []
    assert not Overlay.objects.filter(kind="agreement").exists()
    assert clinic["client"].get(url).status_code == 404


def test_expert_annotations_are_checked_and_drawn_on_mosaics_only(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    admin_client = clinic["admin_client"]
    url = f"/api/v1/images/{ids['mosaic']}/expert-annotation/"
    for bad in ([[[0, 0], [10, 0]]], [[[0, 0], [10, 10], [20, 20]]], [[[0, 0], [5000, 0], [0, 10]]],
                [[[0, 0], ["NaN", 0], [0, 10]]], "everything"):
        response = admin_client.put(url, {"polygons": bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
    response = admin_client.put(f"/api/v1/images/{ids['dermoscopy']}/expert-annotation/",
                                {"polygons": [[[0, 0], [50, 0], [50, 50]]]}, format="json")
    assert response.status_code == 400 and "mosaic" in fields_text(response)
    assert not ExpertAnnotation.objects.exists()
    assert only_mosaic(quality_of(clinic["client"], case))["agreement"] is None


def test_a_technician_cannot_delete_an_experts_annotation(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    url = f"/api/v1/images/{ids['mosaic']}/expert-annotation/"
    response = clinic["admin_client"].put(url, {"polygons": [[[0, 0], [100, 0], [100, 100], [0, 100]]]}, format="json")
    assert response.status_code == 200, response.content
    response = clinic["client"].delete(url)
    # Like PUT, DELETE is for site administrators; and a "204 deleted" that deleted nothing misleads.
    assert response.status_code == 403, response.status_code
    assert ExpertAnnotation.objects.count() == 1


# --------------------------------------------------------------------------- 6. re-runs


def test_rerun_by_a_site_admin_resets_the_same_run(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    version = ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    run = AnalysisRun.objects.get(image_id=ids["mosaic"])
    assert run.state == "succeeded" and run.requested_by is None
    AnalysisRun.objects.filter(pk=run.pk).update(attempts=3)  # as if it had needed retries
    url = f"/api/v1/cases/{case.id}/analyses/rerun/"

    assert clinic["client"].post(url, {"model_version": version.id}, format="json").status_code == 403
    assert AnalysisRun.objects.get(pk=run.pk).attempts == 3

    response = clinic["admin_client"].post(url, {"model_version": version.id}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"runs": [str(run.id)]}
    assert AnalysisRun.objects.filter(image_id=ids["mosaic"]).count() == 1
    rerun = AnalysisRun.objects.get(pk=run.pk)
    assert rerun.state == "succeeded" and rerun.attempts == 1 and rerun.requested_by == clinic["admin"]
    assert rerun.finished_at > run.finished_at
    assert MosaicQuality.objects.get().run_id == run.id
    assert AuditEvent.objects.filter(action="rerun_analysis", object_id=str(case.id), actor=clinic["admin"]).exists()

    listing = clinic["client"].get(f"/api/v1/cases/{case.id}/analyses/")
    assert listing.status_code == 200
    (entry,) = [r for r in listing.json()["runs"] if r["image"] == ids["mosaic"]]  # the dermoscopy has its own runs
    assert entry["id"] == str(run.id) and entry["state"] == "succeeded"
    assert entry["model"] == {"name": "rcm-quality-mednet", "version": version.version,
                              "weights_sha256": version.weights_sha256}
    assert entry["attempts"] == 1 and entry["requested_by"] == str(clinic["admin"].id)
    assert entry["timings"]["total_s"] > 0 and entry["timings"]["inference_s"] > 0
    assert entry["started_at"] and entry["finished_at"] and entry["percent_uninformative"] is not None


def test_rerun_refuses_unknown_broken_and_unrelated_model_versions(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom, outline=False)
    active = ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    broken = ModelVersion.objects.create(
        name="rcm-quality-mednet", version="9.9.9", task=active.task, modality=active.modality, card=active.card,
        weights_sha256="0" * 64, is_active=False, status=ModelStatus.ERROR, status_detail="weights missing")
    unrelated = ModelVersion.objects.create(
        name="body-region", version="0.1.0", task="body region", modality="clinical", card={},
        weights_sha256="1" * 64, is_active=False, status=ModelStatus.READY)
    url = f"/api/v1/cases/{case.id}/analyses/rerun/"
    admin_client = clinic["admin_client"]
    finished_at = AnalysisRun.objects.get().finished_at

    response = admin_client.post(url, {"model_version": 999999}, format="json")
    assert response.status_code == 400 and "model_version" in response.json()["fields"]
    response = admin_client.post(url, {"model_version": broken.id}, format="json")
    assert response.status_code == 400 and "weights missing" in fields_text(response)
    response = admin_client.post(url, {"model_version": unrelated.id}, format="json")
    assert response.status_code == 400 and "model_version" in response.json()["fields"]
    assert admin_client.post(url, {}, format="json").status_code == 400
    assert admin_client.post(url, {"model_version": "latest"}, format="json").status_code == 400
    assert AnalysisRun.objects.count() == 1 and AnalysisRun.objects.get().finished_at == finished_at


def test_rerun_of_a_signed_case_is_refused(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, _ = phantom_case(clinic, phantom, outline=False)
    Case.objects.filter(pk=case.pk).update(status="signed")
    version = ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    finished_at = AnalysisRun.objects.get().finished_at
    response = clinic["admin_client"].post(f"/api/v1/cases/{case.id}/analyses/rerun/", {"model_version": version.id},
                                           format="json")
    assert response.status_code == 409
    assert AnalysisRun.objects.get().finished_at == finished_at


# --------------------------------------------------------------------------- 7. who may see what


def _endpoints(case_id, dermoscopy_id, mosaic_id, site_id, version_id):
    polygon = {"polygon": [[10, 10], [200, 10], [200, 200]]}
    polygons = {"polygons": [[[10, 10], [200, 10], [200, 200]]]}
    case_level = [
        ("get", f"/api/v1/cases/{case_id}/quality/", None, case_id),
        ("get", f"/api/v1/cases/{case_id}/quality/stream/", None, case_id),
        ("get", f"/api/v1/cases/{case_id}/analyses/", None, case_id),
        ("post", f"/api/v1/cases/{case_id}/analyses/rerun/", {"model_version": version_id}, case_id),
        ("get", f"/api/v1/images/{dermoscopy_id}/lesion-outline/", None, dermoscopy_id),
        ("put", f"/api/v1/images/{dermoscopy_id}/lesion-outline/", polygon, dermoscopy_id),
        ("delete", f"/api/v1/images/{dermoscopy_id}/lesion-outline/", None, dermoscopy_id),
        ("get", f"/api/v1/images/{mosaic_id}/expert-annotation/", None, mosaic_id),
        ("put", f"/api/v1/images/{mosaic_id}/expert-annotation/", polygons, mosaic_id),
        ("delete", f"/api/v1/images/{mosaic_id}/expert-annotation/", None, mosaic_id),
    ]
    site_level = [
        ("get", f"/api/v1/sites/{site_id}/quality-policy/", None, site_id),
        ("put", f"/api/v1/sites/{site_id}/quality-policy/", {"review_at_percent": 5, "reimage_at_percent": 8}, site_id),
    ]
    return case_level, site_level


def _call(client, method, url, data):
    if data is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data, format="json")


def test_other_sites_readers_qa_admins_and_anonymous_see_nothing(clinic):
    phantom = gate_phantom(seed=2, where="outside_lesion", size_px=512)
    case, ids = phantom_case(clinic, phantom)
    admin_client = clinic["admin_client"]
    assert admin_client.put(f"/api/v1/images/{ids['mosaic']}/expert-annotation/",
                            {"polygons": [[[0, 0], [100, 0], [100, 100]]]}, format="json").status_code == 200
    version = ModelVersion.objects.get(name="rcm-quality-mednet", is_active=True)
    case_level, site_level = _endpoints(case.id, ids["dermoscopy"], ids["mosaic"], clinic["site"].id, version.id)
    state_before = (LesionOutline.objects.get().updated_at, ExpertAnnotation.objects.get().updated_at,
                    AnalysisRun.objects.get().finished_at)

    other_site = make_site()
    outsiders = {
        "other site's admin": make_user(role=Role.SITE_ADMIN, site=other_site),
        "other site's technician": make_user(role=Role.TECHNICIAN, site=other_site),
    }
    for label, user in outsiders.items():
        client = api_client(user)
        for method, url, data, object_id in case_level + site_level:
            before = denials(user, object_id)
            response = _call(client, method, url, data)
            assert response.status_code == 404, (label, method, url, response.status_code)
            assert response.json()["code"] == "not_found"  # the same answer as for an id that does not exist
            assert denials(user, object_id) == before + 1, (label, method, url)

    same_site = {"reader": make_user(role=Role.READER, site=clinic["site"]),
                 "qa_admin": make_user(role=Role.QA_ADMIN, site=clinic["site"])}
    for label, user in same_site.items():
        client = api_client(user)
        for method, url, data, _ in case_level:
            response = _call(client, method, url, data)
            assert response.status_code == 404, (label, method, url, response.status_code)
        response = _call(client, *site_level[1][:3])
        assert response.status_code == 403, (label, response.status_code)

    anonymous = api_client()
    for method, url, data, _ in case_level + site_level:
        assert _call(anonymous, method, url, data).status_code in (401, 403), (method, url)
    for url in ("/api/v1/models/", "/api/v1/analysis-plans/", "/api/v1/notifications/"):
        assert anonymous.get(url).status_code in (401, 403), url

    assert (LesionOutline.objects.get().updated_at, ExpertAnnotation.objects.get().updated_at,
            AnalysisRun.objects.get().finished_at) == state_before
    assert not QualityPolicy.objects.exists()


def test_a_malformed_or_unknown_id_is_a_plain_404(clinic):
    client = clinic["client"]
    for url in ("/api/v1/cases/not-a-uuid/quality/", "/api/v1/cases/00000000-0000-0000-0000-000000000000/quality/",
                "/api/v1/images/not-a-uuid/lesion-outline/", "/api/v1/sites/not-a-uuid/quality-policy/"):
        assert client.get(url).status_code == 404, url
    assert not AuditEvent.objects.filter(outcome="denied").exists()


# --------------------------------------------------------------------------- 8. notifications


def test_notifications_are_ones_own_filterable_and_markable_read(clinic):
    phantom = gate_phantom(seed=7, where="lesion")
    case, ids = phantom_case(clinic, phantom)
    tech, client = clinic["tech"], clinic["client"]
    other = make_user(role=Role.TECHNICIAN, site=clinic["site"])
    notification_send(users=[other], site_id=clinic["site"].id, kind="analysis_failed", message="not yours",
                      key="test:other", case=case)
    notification_send(users=[tech], site_id=clinic["site"].id, kind="analysis_failed", message="second",
                      key="test:second", case=case)

    body = client.get("/api/v1/notifications/").json()
    mine = {n["kind"]: n for n in body["results"]}
    assert body["count"] == 2 and set(mine) == {"reimage_recommended", "analysis_failed"}
    reimage = mine["reimage_recommended"]
    assert reimage["case"] == str(case.id) and reimage["image"] == ids["mosaic"] and reimage["read_at"] is None
    assert "Re-imaging recommended" in reimage["message"] and "within the lesion" in reimage["message"]
    assert "not yours" not in json.dumps(body)

    response = client.post(f"/api/v1/notifications/{reimage['id']}/read/")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    first_read = response.json()["read_at"]
    assert client.post(f"/api/v1/notifications/{reimage['id']}/read/").json()["read_at"] == first_read
    unread = client.get("/api/v1/notifications/?unread=1").json()["results"]
    assert [n["message"] for n in unread] == ["second"]
    assert client.get("/api/v1/notifications/").json()["count"] == 2

    foreign = Notification.objects.get(user=other)
    assert client.get(f"/api/v1/notifications/{foreign.id}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{foreign.id}/read/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def test_the_same_reimage_event_judged_again_notifies_once(clinic):
    phantom = gate_phantom(seed=7, where="lesion")
    case, ids = phantom_case(clinic, phantom)
    mosaic = Image.objects.get(pk=ids["mosaic"])
    assert Notification.objects.filter(kind="reimage_recommended").count() == 1
    mosaic_quality_assess(image=mosaic)
    assert quality_assess_stale() == 0
    assert Notification.objects.filter(kind="reimage_recommended").count() == 1
    # Even with the judgement lost (a crash between run and judgement), the re-judged event is the same one.
    MosaicQuality.objects.all().delete()
    assert quality_assess_stale() == 1
    assert MosaicQuality.objects.get().verdict == "reimage"
    assert Notification.objects.filter(kind="reimage_recommended").count() == 1
    assert Notification.objects.get(kind="reimage_recommended").user == clinic["tech"]


# --------------------------------------------------------------------------- 9. models and plans


def test_models_and_plans_are_listed(clinic):
    client = clinic["client"]
    models = client.get("/api/v1/models/")
    assert models.status_code == 200
    (quality,) = [m for m in models.json() if m["name"] == "rcm-quality-mednet"]
    assert quality["status"] == "ready" and quality["is_active"] is True and len(quality["weights_sha256"]) == 64
    assert quality["card"]["name"] == "rcm-quality-mednet" and "metrics" in quality["card"]
    assert quality["modality"] and quality["task"]

    plans = client.get("/api/v1/analysis-plans/")
    assert plans.status_code == 200
    steps = {(p["image_kind"], p["step"]): p for p in plans.json()}
    mosaic_step = steps[("rcm_mosaic", "quality")]
    assert mosaic_step["status"] == "active" and mosaic_step["model"] == "rcm-quality-mednet"
    assert mosaic_step["version"] == {"name": "rcm-quality-mednet", "version": quality["version"],
                                      "weights_sha256": quality["weights_sha256"]}
    for key in (("dermoscopy", "lesion_segmentation"), ("dermoscopy", "diagnosis"), ("clinical", "body_region")):
        assert steps[key]["status"] == "not_installed" and steps[key]["version"] is None, steps[key]


def test_a_broken_model_is_not_active_in_the_plans(clinic):
    ModelVersion.objects.filter(name="rcm-quality-mednet").update(status=ModelStatus.ERROR, is_active=False)
    steps = {(p["image_kind"], p["step"]): p for p in clinic["client"].get("/api/v1/analysis-plans/").json()}
    assert steps[("rcm_mosaic", "quality")]["status"] == "not_installed"
    # and a mosaic uploaded now is not analysed, visibly
    case = make_case(site=clinic["site"], actor=clinic["tech"])
    response = upload(clinic["client"], case, png_bytes(256, 256), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", pixel_spacing_um=2.0)
    assert response.status_code == 201
    body = quality_of(clinic["client"], case)
    assert only_mosaic(body)["state"] == "not_analysed" and body["verdict"] is None and not AnalysisRun.objects.exists()
