"""The capture-time quality gate with a real Celery worker process on this suite's broker (file
system or Redis) and database (SQLite file or PostgreSQL): phantom cases with known ground truth go
upload → derivation → quality run → judgement through the worker, and the API answers with the
verdict, the overlays, the notification and the live Server-Sent Events.

With a real worker the registration and lesion-outline PUTs may land before, while or after the run
finishes: every test waits on the API's answer (bounded `wait_for`), never on wall-clock time.

The last two tests run in process and pin down interleavings a real worker can hit: a slow
judgement must not overwrite a newer one (5), and a case must not read complete with no verdict
between its mosaic's derivation and the request of its analysis (6)."""

from __future__ import annotations

import io
import json
import math
import threading
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.db import connection
from PIL import Image as PILImage

from dermrelay.accounts.models import Role
from dermrelay.gate import geometry
from dermrelay.analysis.models import AnalysisRun, Overlay
from dermrelay.gate.models import MosaicQuality
from dermrelay.analysis.runs import analyses_request
from dermrelay.analysis.catalogue import model_versions_sync
from dermrelay.gate.judgement import mosaic_quality_assess, quality_assess_stale
from dermrelay.pipeline.tasks import analysis_run_task
from dermrelay.cases.models import Image, ImageKind
from dermrelay.cases.services import case_update
from dermrelay.imaging.models import DerivationJob
from dermrelay.pipeline.tasks import derive_task
from dermrelay.jobs.models import JobState
from inference.phantoms.generator import gate_phantom, generate_phantom
from inference.phantoms.outlines import lesion_polygon
from tests.gate.gate_cases import png_of, upload_phantom_case
from tests.conftest import stored_files, wait_for
from tests.factories import api_client, make_case, make_site, make_user, upload

with_worker = pytest.mark.worker  # tests 1-4 start a real worker; 5 and 6 run in process

WAIT = 180  # seconds: a bound on waiting for the worker (first model load included), not a speed claim
UNINFORMATIVE_RGB = (255, 64, 0)  # the quality palette's colour (analysis.services.QUALITY_PALETTE)


@pytest.fixture
def clinic(live_worker):
    model_versions_sync()  # the worker shares this database: it finds the same ModelVersion rows
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, tech, api_client(tech), live_worker


def _alive(worker) -> None:
    """A dead worker fails the test at once, with its log, instead of a long timeout."""
    if worker.process.poll() is not None:
        raise AssertionError(f"the Celery worker exited ({worker.process.returncode}):\n{worker.log()[-4000:]}")


def _watching(worker, predicate):
    def check():
        _alive(worker)
        return predicate()
    return check


def _case_for(site, tech):
    case = make_case(site=site, actor=tech)
    return case_update(actor=tech, case=case, technician=tech)


def _quality(client, case) -> dict:
    response = client.get(f"/api/v1/cases/{case.id}/quality/")
    assert response.status_code == 200, response.content
    return response.json()


def _complete(client, case, *, verdict: str, basis: str | None = None):
    """A predicate for wait_for: the case's answer once it is complete with this verdict (and basis)."""
    def check():
        body = _quality(client, case)
        if body["state"] == "complete" and body["verdict"] == verdict and (basis is None or body["basis"] == basis):
            return body
        return None
    return check


def _notifications(client) -> list[dict]:
    response = client.get("/api/v1/notifications/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _viewer(client, image_id):
    response = client.get(f"/api/v1/images/{image_id}/viewer/")
    return response.json() if response.status_code == 200 else None


def _overlay_of(client, image_id, kind: str):
    def check():
        descriptor = _viewer(client, image_id)
        found = [o for o in (descriptor or {}).get("overlays", []) if o["kind"] == kind]
        return found[0] if found else None
    return check


def _fetch(client, url: str):
    """Fetch a signed tile URL from the descriptor through Django's tile view (the path part)."""
    response = client.get(urlsplit(url).path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def _rgba_of_overview_tile(client, overlay: dict) -> np.ndarray:
    """The overlay's dzi and the tile of the first level that fits in one tile: both served (200)."""
    response, dzi = _fetch(client, overlay["dzi"])
    assert response.status_code == 200, dzi[:300]
    assert b"<Image" in dzi and b'Format="png"' in dzi
    top = math.ceil(math.log2(max(overlay["width"], overlay["height"])))
    level = top - max(0, math.ceil(math.log2(max(overlay["width"], overlay["height"]) / 254)))
    url = overlay["tiles"].replace("{level}", str(level)).replace("{col}", "0").replace("{row}", "0")
    response, tile = _fetch(client, url)
    assert response.status_code == 200, tile[:300]
    assert response["Content-Type"] == "image/png"
    return np.array(PILImage.open(io.BytesIO(tile)).convert("RGBA"))


def _paints_uninformative(rgba: np.ndarray) -> int:
    return int(np.count_nonzero(np.all(rgba[..., :3] == UNINFORMATIVE_RGB, axis=-1) & (rgba[..., 3] > 0)))


# --------------------------------------------------------------------------- 1. in-lesion → reimage


@with_worker
def test_worker_runs_the_quality_model_and_recommends_reimaging_for_no_contact_in_the_lesion(clinic):
    site, tech, client, worker = clinic
    phantom = gate_phantom(seed=7, where="lesion")
    truth = 100 * phantom.lesional_uninformative_fraction
    assert 100 * phantom.uninformative_fraction < 10 < 20 < truth  # only the lesional rule recalls it
    case = _case_for(site, tech)
    ids = upload_phantom_case(client, case, phantom)

    body = wait_for(_watching(worker, _complete(client, case, verdict="reimage", basis="lesion")), timeout=WAIT,
                    message="the worker's quality run and a final 'reimage' verdict judged on the lesion")
    (mosaic,) = body["mosaics"]
    assert mosaic["image"] == ids["mosaic"] and mosaic["state"] == "done"
    assert mosaic["verdict"] == "reimage" and mosaic["basis"] == "lesion" and mosaic["lesion_source"] == "person"
    assert mosaic["percent_lesion"] == pytest.approx(truth, abs=8)
    assert mosaic["percent_whole"] == pytest.approx(100 * phantom.uninformative_fraction, abs=5)
    assert mosaic["model"]["name"] == "rcm-quality-mednet"
    assert body["verdict_is_final"] is True

    (run,) = AnalysisRun.objects.filter(image_id=ids["mosaic"])
    assert (run.state, run.attempts, run.step) == (JobState.SUCCEEDED, 1, "quality")
    assert run.started_at is not None and run.finished_at is not None
    for stage in ("model_load_s", "read_s", "inference_s", "outputs_s", "total_s"):
        assert run.timings.get(stage) is not None and run.timings[stage] >= 0, run.timings
    assert mosaic["run"]["id"] == str(run.id) and mosaic["run"]["timings"] == run.timings
    assert mosaic["judged_run"] == str(run.id)
    lesion_run = AnalysisRun.objects.get(image_id=ids["dermoscopy"], step="lesion_segmentation")  # the lesion model ran too; the person's outline won
    assert (lesion_run.step, lesion_run.state) == ("lesion_segmentation", "succeeded")

    notes = wait_for(_watching(worker, lambda: [n for n in _notifications(client) if n["kind"] == "reimage_recommended"]),
                     timeout=WAIT, message="the reimage_recommended notification")
    assert [(n["kind"], n["case"], n["image"]) for n in _notifications(client)] == [
        ("reimage_recommended", str(case.id), ids["mosaic"])]
    assert "within the lesion" in notes[0]["message"]

    quality = wait_for(_watching(worker, _overlay_of(client, ids["mosaic"], "quality")), timeout=WAIT,
                       message="the quality overlay")
    projection = wait_for(_watching(worker, _overlay_of(client, ids["dermoscopy"], "projection")), timeout=WAIT,
                          message="the projection overlay on the dermoscopy image")
    assert quality["source_image"] == projection["source_image"] == ids["mosaic"]
    assert quality["model"]["name"] == projection["model"]["name"] == "rcm-quality-mednet"
    assert _paints_uninformative(_rgba_of_overview_tile(client, quality)) > 0
    assert _paints_uninformative(_rgba_of_overview_tile(client, projection)) > 0


# --------------------------------------------------------------------------- 2. outside the lesion


@with_worker
def test_worker_judges_artifacts_outside_the_lesion_acceptable_and_calls_nobody_back(clinic):
    site, tech, client, worker = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion")
    case = _case_for(site, tech)
    ids = upload_phantom_case(client, case, phantom)

    body = wait_for(_watching(worker, _complete(client, case, verdict="acceptable", basis="lesion")), timeout=WAIT,
                    message="a final 'acceptable' verdict judged on the lesion")
    (mosaic,) = body["mosaics"]
    assert mosaic["basis"] == "lesion" and mosaic["percent_lesion"] < 5
    assert mosaic["percent_whole"] > 20  # the whole-mosaic rule would have recalled it
    assert mosaic["verdict"] == "acceptable"
    (run,) = AnalysisRun.objects.filter(image_id=ids["mosaic"])
    assert (run.state, run.attempts) == (JobState.SUCCEEDED, 1)
    assert _notifications(client) == []


# --------------------------------------------------------------------------- 3. idempotence


def _run_of(image_id) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(image_id=image_id, state=JobState.SUCCEEDED).first()


@with_worker
def test_reenqueued_messages_and_requests_never_run_the_model_twice(clinic, worker_media_root):
    site, tech, client, worker = clinic
    phantom = gate_phantom(seed=7, where="lesion")
    case = _case_for(site, tech)
    ids = upload_phantom_case(client, case, phantom)
    wait_for(_watching(worker, _complete(client, case, verdict="reimage", basis="lesion")), timeout=WAIT,
             message="the first verdict")
    image = Image.objects.get(pk=ids["mosaic"])
    run = AnalysisRun.objects.get(image=image)
    assert (run.state, run.attempts) == (JobState.SUCCEEDED, 1)
    outputs = [worker_media_root / "analysis" / str(site.id) / str(image.id),
               worker_media_root / "overlays" / str(site.id) / str(image.id)]
    before = [stored_files(folder) for folder in outputs]
    assert before[0] and before[1]  # labels, probability; the quality overlay pyramid
    judged_before = MosaicQuality.objects.get(image=image)
    overlays_before = sorted(Overlay.objects.filter(source_image=image).values_list("id", "prefix"))
    notes_before = _notifications(client)

    analysis_run_task.delay(str(run.id))
    analysis_run_task.delay(str(run.id))
    derive_task.delay(str(DerivationJob.objects.get(image=image).id))
    assert analyses_request(image=image) == [run]

    # A marker mosaic of another case goes through the same queues (ingest, then inference) behind
    # them: once its run succeeded, the re-sent messages have been handled.
    marker_case = _case_for(site, tech)
    marker = generate_phantom(seed=11, size_px=256, artifact_fraction=(0.0, 0.0))
    response = upload(client, marker_case, png_of(marker.image), name="marker.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", pixel_spacing_um=marker.pixel_spacing_um)
    assert response.status_code == 201, response.content
    marker_id = response.json()["id"]
    wait_for(_watching(worker, lambda: _run_of(marker_id)), timeout=WAIT, message="the marker mosaic's quality run")
    wait_for(_watching(worker, lambda: _quality(client, marker_case)["state"] == "complete"), timeout=WAIT,
             message="the marker's verdict")

    assert AnalysisRun.objects.filter(image=image).count() == 1
    run.refresh_from_db()
    assert (run.state, run.attempts) == (JobState.SUCCEEDED, 1)
    assert [stored_files(folder) for folder in outputs] == before
    judged = MosaicQuality.objects.get(image=image)
    assert (judged.run_id, judged.verdict, judged.assessed_at) == (run.id, "reimage", judged_before.assessed_at)
    assert sorted(Overlay.objects.filter(source_image=image).values_list("id", "prefix")) == overlays_before
    assert _notifications(client) == notes_before  # still the one notification


# --------------------------------------------------------------------------- 4. Server-Sent Events


def _events(response) -> list[tuple[str, object]]:
    """Parse a text/event-stream body into (event, data) pairs; comments and `retry` are skipped."""
    text = b"".join(response.streaming_content).decode()
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":") and ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


@with_worker
def test_quality_stream_follows_the_worker_from_pending_to_the_verdict(clinic, settings):
    settings.DERMRELAY_SSE_POLL_SECONDS = 0.05
    settings.DERMRELAY_SSE_MAX_SECONDS = 120
    site, tech, client, worker = clinic
    phantom = gate_phantom(seed=2, where="outside_lesion")  # 31% of the whole mosaic: reimage on it
    case = _case_for(site, tech)
    response = upload(client, case, png_of(phantom.image), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", pixel_spacing_um=phantom.pixel_spacing_um)
    assert response.status_code == 201, response.content
    mosaic_id = response.json()["id"]

    stream = client.get(f"/api/v1/cases/{case.id}/quality/stream/", HTTP_ACCEPT="text/event-stream")
    assert stream.status_code == 200 and stream.streaming
    assert stream["Content-Type"].startswith("text/event-stream") and stream["Cache-Control"] == "no-cache"
    events = _events(stream)  # ends by itself: `done` once complete, `timeout` after DERMRELAY_SSE_MAX_SECONDS
    _alive(worker)
    names = [name for name, _ in events]
    assert names[-1] == "done", names
    assert "timeout" not in names and names.count("done") == 1
    quality = [data for name, data in events if name == "quality"]
    assert quality[0]["state"] == "pending", quality[0]  # opened while the worker was still at it
    last = quality[-1]
    assert (last["state"], last["verdict"], last["basis"]) == ("complete", "reimage", "whole_mosaic"), [
        (q["state"], q["verdict"], [(m["state"], m["run"] and m["run"]["state"]) for m in q["mosaics"]]) for q in quality]
    assert {m["state"] for q in quality[:-1] for m in q["mosaics"]} <= {"preparing", "analysing", "judging"}
    assert all(q["state"] == "pending" and q["verdict"] is None for q in quality[:-1])
    (mosaic,) = last["mosaics"]
    assert mosaic["image"] == mosaic_id and mosaic["state"] == "done" and mosaic["percent_whole"] > 20
    assert "No registration" in mosaic["basis_note"]
    assert events[-1][1] == {"state": "complete", "verdict": "reimage"}
    assert all(a != b for a, b in zip(quality, quality[1:]))  # an event only when the answer changed
    polled = _quality(client, case)  # the stream's last word is the polled answer
    assert (polled["state"], polled["verdict"], polled["mosaics"][0]["percent_whole"]) == (
        "complete", "reimage", mosaic["percent_whole"])


# --------------------------------------------------------------------------- 5. a judgement racing an input change


def test_a_judgement_racing_the_outline_put_does_not_leave_a_stale_verdict(transactional_db, monkeypatch):
    """In process, with the interleaving a real worker can hit: the worker's judgement (after its run)
    has read 'no registration, no outline' when the device PUTs both; the PUTs' judgements commit
    first, the worker's last. The final verdict must still be the lesional one."""
    model_versions_sync()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    phantom = gate_phantom(seed=7, where="lesion")  # whole 9% (acceptable), lesion 50% (reimage)
    case = _case_for(site, tech)
    ids = upload_phantom_case(client, case, phantom, outline=False, register=False)  # eager: run and judged
    assert MosaicQuality.objects.get(image_id=ids["mosaic"]).basis == "whole_mosaic"

    inputs_read, release = threading.Event(), threading.Event()
    real_shares, worker_thread = geometry.shares, []

    def shares(labels, lesion):  # called after the inputs were read, before the verdict is written
        if threading.current_thread() in worker_thread:
            inputs_read.set()
            assert release.wait(60)
        return real_shares(labels, lesion)

    monkeypatch.setattr(geometry, "shares", shares)
    errors = []

    def judge():
        try:
            mosaic_quality_assess(image=Image(pk=ids["mosaic"]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=judge)
    worker_thread.append(thread)
    thread.start()
    try:
        assert inputs_read.wait(60), "the racing judgement never got past reading its inputs"
        response = client.put(f"/api/v1/images/{ids['mosaic']}/registration/",
                              {"dermoscopy": ids["dermoscopy"], "matrix": phantom.registration.tolist()}, format="json")
        assert response.status_code == 200, response.content
        response = client.put(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/",
                              {"polygon": lesion_polygon(phantom)}, format="json")
        assert response.status_code == 200, response.content
        put_answer = _quality(client, case)["mosaics"][0]
        assert (put_answer["basis"], put_answer["verdict"]) == ("lesion", "reimage")  # the PUTs' judgement is right
    finally:
        release.set()
        thread.join(60)
    assert not errors, errors
    quality_assess_stale()  # the reconciler gets its chance to repair what the race left
    (mosaic,) = _quality(client, case)["mosaics"]
    projected = _overlay_of(client, ids["dermoscopy"], "projection")() is not None
    assert (mosaic["basis"], mosaic["verdict"], projected) == ("lesion", "reimage", True), mosaic["basis_note"]


# --------------------------------------------------------------------------- 6. complete before analysed


def test_a_derived_mosaic_is_never_complete_before_its_analysis_is_requested(transactional_db, monkeypatch):
    """In process (eager tasks): what a concurrent reader (the SSE stream, a poller) sees right after
    the derivation job committed. With an active quality model the answer must still be pending
    (or already carry a verdict), never 'complete' without one."""
    from dermrelay.gate import selectors
    from dermrelay.pipeline import tasks as pipeline_tasks

    model_versions_sync()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    case = _case_for(site, tech)
    seen = []
    real_job_run = pipeline_tasks.job_run

    def job_run(*, model, job_id, work):
        state = real_job_run(model=model, job_id=job_id, work=work)
        if model is DerivationJob and state == JobState.SUCCEEDED:
            seen.append(selectors.case_quality(case=case))  # what the stream's next poll reads
        return state

    monkeypatch.setattr(pipeline_tasks, "job_run", job_run)
    phantom = generate_phantom(seed=11, size_px=256, artifact_fraction=(0.0, 0.0))
    response = upload(client, case, png_of(phantom.image), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", pixel_spacing_um=phantom.pixel_spacing_um)
    assert response.status_code == 201, response.content
    assert _quality(client, case)["state"] == "complete" and _quality(client, case)["verdict"] is not None
    (between,) = seen
    assert between["state"] == "pending" or between["verdict"] is not None, (
        between["state"], between["verdict"], [m["state"] for m in between["mosaics"]])
