"""Analysis runs in process (tasks run eagerly): requested once per input, failing visibly and at
once when the model or the input cannot serve, re-run with another model version, and judged again
by the reconciler when a judgement went missing."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from dermrelay.accounts.models import Role
from dermrelay.analysis import catalogue
from dermrelay.analysis.models import AnalysisRun, ModelStatus, ModelVersion, Overlay
from dermrelay.gate.models import MosaicQuality, QualityPolicy
from dermrelay.analysis.runs import analyses_request, case_analyses_rerun
from dermrelay.analysis.catalogue import model_versions_sync
from dermrelay.gate.judgement import mosaic_quality_assess, quality_assess_stale
from dermrelay.cases.models import Case, Image, ImageKind, ImageStatus
from dermrelay.jobs.models import JobState
from inference.phantoms.generator import generate_phantom
from inference.serving.registry import DEFAULT_CARDS_DIR, Registry
from tests.gate.gate_cases import jpeg_of, png_of
from tests.factories import api_client, make_case, make_site, make_user, upload

pytestmark = pytest.mark.django_db(transaction=True)
MODEL = "rcm-quality-mednet"


@pytest.fixture(autouse=True)
def fresh_model_cache():
    """Models loaded by one test (maybe from a copied registry) are not reused by the next."""
    catalogue.models_forget()
    yield
    catalogue.models_forget()


@pytest.fixture(scope="module")
def phantom():
    return generate_phantom(seed=5, size_px=320)


@pytest.fixture
def clinic():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    return site, tech, api_client(tech)


@pytest.fixture
def copied_registry(tmp_path, monkeypatch) -> Registry:
    """The shipped cards and weights, copied so a test can break them; the workers' Registry() reads
    the copy (DERMRELAY_MODEL_CARDS)."""
    shutil.copytree(DEFAULT_CARDS_DIR, tmp_path / "cards")
    shutil.copytree(DEFAULT_CARDS_DIR.parent / "weights", tmp_path / "weights")
    monkeypatch.setenv("DERMRELAY_MODEL_CARDS", str(tmp_path / "cards"))
    registry = Registry(tmp_path / "cards")
    assert model_versions_sync(registry=registry).errors == []
    return registry


def _weights(registry: Registry) -> list:
    """Every weights file the card names (PyTorch and ONNX): whichever backend loads, it finds its file broken."""
    card = registry.card(MODEL)
    return [card.file(entry) for entry in ("weights", "onnx") if card.file(entry) is not None]


def _upload_mosaic(client, case, phantom, **fields) -> Image:
    fields.setdefault("pixel_spacing_um", phantom.pixel_spacing_um)
    fields = {k: v for k, v in fields.items() if v is not None}
    response = upload(client, case, png_of(phantom.image), name="mosaic.png", kind=ImageKind.RCM_MOSAIC,
                      depth_level="dej", **fields)
    assert response.status_code == 201, response.content
    return Image.objects.get(pk=response.json()["id"])


# --------------------------------------------------------------------------- requesting


def test_requesting_analyses_again_finds_the_same_run_and_its_outputs(clinic, phantom):
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    mosaic.refresh_from_db()
    assert mosaic.status == ImageStatus.READY

    (run,) = AnalysisRun.objects.filter(image=mosaic)
    for _ in range(3):
        assert [r.pk for r in analyses_request(image=mosaic)] == [run.pk]
    assert AnalysisRun.objects.filter(image=mosaic).count() == 1
    run.refresh_from_db()
    assert (run.state, run.attempts, run.step) == (JobState.SUCCEEDED, 1, "quality")
    assert run.input_sha256 == mosaic.sha256 and run.model_version.name == MODEL and run.requested_by is None

    files = run.outputs["files"]
    assert set(files) == {"labels", "probability"}
    assert files["labels"].endswith("/labels.png") and files["probability"].endswith("/probability.png")
    for key in files.values():
        assert key.startswith(run.output_prefix + "/") and default_storage.exists(key)
    with default_storage.open(files["labels"], "rb") as handle:
        labels = np.array(PILImage.open(handle))
    assert labels.shape == tuple(reversed(run.outputs["working_size"])) and set(np.unique(labels)) <= {0, 1, 2}
    assert run.outputs["scale"] == pytest.approx(2.0)  # 2 µm mosaic pixels, 4 µm working pixels

    assert set(run.timings) >= {"model_load_s", "read_s", "inference_s", "outputs_s", "total_s"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in run.timings.values())
    assert run.timings["total_s"] >= run.timings["inference_s"]
    assert isinstance(run.percent_uninformative, float) and 0 <= run.percent_uninformative <= 100
    assert isinstance(run.confidence, float) and 0 <= run.confidence <= 1
    assert run.percent_uninformative == pytest.approx(100 * phantom.uninformative_fraction, abs=8)

    overlay = Overlay.objects.get(image=mosaic, kind="quality")
    assert overlay.run_id == run.pk and default_storage.exists(f"{overlay.prefix}/overlay.dzi")
    assert MosaicQuality.objects.get(image=mosaic).run_id == run.pk


def test_a_second_request_after_the_run_finished_does_not_run_the_model_again(clinic, phantom, monkeypatch):
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    (run,) = AnalysisRun.objects.filter(image=mosaic)
    finished_at = AnalysisRun.objects.get(pk=run.pk).finished_at

    def no_model(**kwargs):
        raise AssertionError("the model ran again")

    monkeypatch.setattr(catalogue, "model_load", no_model)
    analyses_request(image=mosaic)
    run.refresh_from_db()
    assert (run.state, run.attempts, run.finished_at) == (JobState.SUCCEEDED, 1, finished_at)


# --------------------------------------------------------------------------- failing visibly


def _assert_failed_once(client, case, mosaic, *words: str) -> AnalysisRun:
    (run,) = AnalysisRun.objects.filter(image=mosaic)
    assert run.state == JobState.FAILED, run.last_error
    assert run.attempts == 1  # a permanent error is not retried
    for word in words:
        assert word in run.last_error, run.last_error
    assert "Traceback" not in run.last_error  # a reason, not a stack trace
    mosaic.refresh_from_db()
    assert mosaic.status == ImageStatus.READY
    response = client.get(f"/api/v1/cases/{case.id}/")
    assert response.status_code == 200, response.content
    body = client.get(f"/api/v1/cases/{case.id}/quality/").json()
    (entry,) = body["mosaics"]
    assert entry["state"] == "failed" and entry["error"] and body["state"] == "complete"
    assert not body["verdict_is_final"]
    assert not MosaicQuality.objects.filter(image=mosaic).exists()
    notes = client.get("/api/v1/notifications/").json()["results"]
    assert [n["kind"] for n in notes] == ["analysis_failed"]
    return run


def test_missing_weights_fail_the_run_at_once_with_the_reason(clinic, phantom, copied_registry):
    site, tech, client = clinic
    files = _weights(copied_registry)
    for path in files:
        path.unlink()
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    run = _assert_failed_once(client, case, mosaic, MODEL, "is missing")
    assert any(path.name in run.last_error for path in files)


def test_altered_weights_fail_the_run_at_once_with_the_reason(clinic, phantom, copied_registry):
    site, tech, client = clinic
    for path in _weights(copied_registry):
        path.write_bytes(path.read_bytes()[:-10])
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    _assert_failed_once(client, case, mosaic, MODEL, "SHA-256")


def test_missing_registered_weights_fail_the_run_even_when_an_onnx_export_is_installed(clinic, phantom, copied_registry,
                                                                                        monkeypatch):
    monkeypatch.setattr("inference.serving.registry.choose_device", lambda: "cpu")  # the CPU worker's path, on any machine
    site, tech, client = clinic
    weights = copied_registry.card(MODEL).file("weights")
    weights.unlink()  # only the PyTorch weights the ModelVersion row names; the ONNX export stays
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    _assert_failed_once(client, case, mosaic, MODEL, weights.name)


def test_sync_reports_a_missing_onnx_export(copied_registry):
    copied_registry.card(MODEL).file("onnx").unlink()
    report = model_versions_sync(registry=copied_registry)
    row = ModelVersion.objects.get(name=MODEL, version="0.1.0")
    assert row.status == ModelStatus.ERROR and report.errors


def test_a_mosaic_without_pixel_spacing_fails_with_the_reason(clinic, phantom):
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom, pixel_spacing_um=None)
    assert mosaic.pixel_spacing_um is None
    _assert_failed_once(client, case, mosaic, "pixel spacing")


# --------------------------------------------------------------------------- re-running


def test_rerun_with_another_model_version_becomes_the_judged_run(clinic, phantom, copied_registry):
    site, tech, client = clinic
    card = json.loads((copied_registry.cards_dir / f"{MODEL}.json").read_text())
    card["version"] = "0.1.1"
    (copied_registry.cards_dir / f"{MODEL}-0.1.1.json").write_text(json.dumps(card))
    assert model_versions_sync(registry=copied_registry).created == 1
    newer = ModelVersion.objects.get(name=MODEL, version="0.1.1")
    assert newer.status == ModelStatus.READY and not newer.is_active

    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    (first,) = AnalysisRun.objects.filter(image=mosaic)
    assert first.model_version.version == "0.1.0" and first.state == JobState.SUCCEEDED
    assert MosaicQuality.objects.get(image=mosaic).run_id == first.pk

    admin = make_user(role=Role.SITE_ADMIN, site=site)
    (rerun,) = case_analyses_rerun(actor=admin, case=case, model_version=newer)
    rerun.refresh_from_db()
    assert rerun.pk != first.pk and rerun.model_version_id == newer.pk
    assert (rerun.state, rerun.requested_by_id) == (JobState.SUCCEEDED, admin.pk)
    assert AnalysisRun.objects.filter(image=mosaic).count() == 2
    assert MosaicQuality.objects.get(image=mosaic).run_id == rerun.pk
    assert Overlay.objects.get(image=mosaic, kind="quality").run_id == rerun.pk

    (entry,) = client.get(f"/api/v1/cases/{case.id}/quality/").json()["mosaics"]
    assert entry["model"]["version"] == "0.1.1" and entry["judged_run"] == str(rerun.pk)
    assert entry["run"]["model"]["version"] == "0.1.1"

    # the same version again: the finished run is reset and run again, not duplicated
    (again,) = case_analyses_rerun(actor=admin, case=case, model_version=newer)
    assert again.pk == rerun.pk and AnalysisRun.objects.filter(image=mosaic).count() == 2
    again.refresh_from_db()
    assert (again.state, again.attempts) == (JobState.SUCCEEDED, 1)


# --------------------------------------------------------------------------- the reconciler


def test_stale_judgements_are_made_again_but_not_on_signed_cases(clinic, phantom):
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    judged = MosaicQuality.objects.get(image=mosaic)
    assert quality_assess_stale() == 0

    MosaicQuality.objects.filter(image=mosaic).delete()  # a crash between the run and its judgement
    assert client.get(f"/api/v1/cases/{case.id}/quality/").json()["mosaics"][0]["state"] == "judging"
    assert quality_assess_stale() == 1
    again = MosaicQuality.objects.get(image=mosaic)
    assert (again.run_id, again.verdict, again.percent_whole) == (judged.run_id, judged.verdict, judged.percent_whole)
    assert quality_assess_stale() == 0

    MosaicQuality.objects.filter(image=mosaic).delete()
    Case.objects.filter(pk=case.pk).update(status="signed")
    assert quality_assess_stale() == 0
    assert not MosaicQuality.objects.filter(image=mosaic).exists()


def test_judging_the_same_inputs_again_keeps_the_judgement_and_its_time(clinic, phantom):
    """The worker and the reconciler (or a re-sent message) may judge one mosaic twice: the second
    judgement is the first again and must not move its time; new thresholds make a new one."""
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    mosaic = _upload_mosaic(client, case, phantom)
    judged = MosaicQuality.objects.get(image=mosaic)

    again = mosaic_quality_assess(image=mosaic)
    assert (again.pk, again.assessed_at) == (judged.pk, judged.assessed_at)
    assert MosaicQuality.objects.get(image=mosaic).assessed_at == judged.assessed_at

    QualityPolicy.objects.create(site=site, review_at_percent=1.0, reimage_at_percent=2.0)
    changed = mosaic_quality_assess(image=mosaic)
    assert (changed.pk, changed.review_at_percent, changed.reimage_at_percent) == (judged.pk, 1.0, 2.0)
    assert changed.assessed_at > judged.assessed_at


# --------------------------------------------------------------------------- other image kinds


def _tiff_stack() -> bytes:
    rng = np.random.default_rng(1)
    frames = [PILImage.fromarray(rng.integers(0, 4000, (120, 160)).astype(np.uint16)) for _ in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def test_each_kind_gets_its_plan_and_a_step_without_an_installed_model_no_run(clinic, phantom):
    model_versions_sync()
    ModelVersion.objects.filter(name="dermoscopy-diagnosis").update(is_active=False)  # model A not installed here
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    uploads = [
        (_tiff_stack(), "stack.tif", {"kind": ImageKind.RCM_STACK, "depth_um": 20, "z_step_um": 5}, []),
        (jpeg_of(phantom.dermoscopy), "dermoscopy.jpg", {"kind": ImageKind.DERMOSCOPY}, ["diagnosis", "lesion_segmentation"]),
        (jpeg_of(np.ascontiguousarray(phantom.dermoscopy[::-1])), "clinical.jpg", {"kind": ImageKind.CLINICAL}, ["body_region"]),
    ]
    for data, name, fields, expected in uploads:
        response = upload(client, case, data, name=name, **fields)
        assert response.status_code == 201, response.content
        image = Image.objects.get(pk=response.json()["id"])
        assert image.status == ImageStatus.READY, image.status_detail
        steps = sorted(AnalysisRun.objects.filter(image=image).values_list("step", flat=True))
        assert steps == expected, fields["kind"]
        assert sorted(run.step for run in analyses_request(image=image)) == expected  # the same runs again, no new ones
        assert AnalysisRun.objects.filter(image=image).count() == len(expected)
    assert ModelVersion.objects.filter(name=MODEL, is_active=True).exists()  # the mosaic model is installed
    assert client.get(f"/api/v1/cases/{case.id}/quality/").json()["state"] == "no_mosaics"


# --------------------------------------------------------------------------- derivation failure


def test_a_mosaic_whose_derivation_fails_gets_no_run_and_keeps_its_file(clinic, phantom, monkeypatch):
    """The upload refuses a corrupt file outright, so the pyramid step is made to fail: the image is
    marked failed with the reason, no model runs on it, and its stored original stays."""
    from dermrelay.imaging import services as imaging_services
    from dermrelay.jobs.services import PermanentJobError

    def broken_pyramid(job):
        raise PermanentJobError("the pyramid could not be written (test)")

    monkeypatch.setattr(imaging_services, "derivation_run", broken_pyramid)
    model_versions_sync()
    site, tech, client = clinic
    case = make_case(site=site, actor=tech)
    image = _upload_mosaic(client, case, phantom)
    image.refresh_from_db()
    assert image.status == ImageStatus.FAILED and "the pyramid could not be written" in image.status_detail
    assert analyses_request(image=image) == []
    assert not AnalysisRun.objects.filter(image=image).exists()
    assert default_storage.exists(image.file.name)
    (entry,) = client.get(f"/api/v1/cases/{case.id}/quality/").json()["mosaics"]
    assert entry["state"] == "failed" and "could not be prepared" in entry["error"]
