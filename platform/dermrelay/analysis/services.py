"""Analyses: model versions mirrored from the registry, runs as reliable jobs, and the quality gate.

Flow: derivation of an image succeeds → `analyses_request` creates one AnalysisRun per step of the
image kind's plan (unique per image, model version and input SHA-256; a repeated request finds the
same rows) → the worker runs it (`analysis_work`) → a quality run's labels and overlay are stored →
`mosaic_quality_assess` judges the mosaic against the lesion and the site's thresholds. The gate is
re-judged whenever one of its inputs changes: lesion outline, registration, expert annotation,
thresholds; the reconciler catches any judgement a crash left out (`quality_assess_stale`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from PIL import Image as PILImage

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import CaseStatus, Image, ImageKind, ImageStatus
from dermrelay.cases.selectors import case_annotatable
from dermrelay.cases.services import CaseLocked, ImageConflict
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging.overlays import colourise, level_size, overlay_delete, overlay_write
from dermrelay.imaging.services import image_local_path
from dermrelay.storage import prefix_delete
from dermrelay.jobs.models import FINISHED_STATES, JobState
from dermrelay.jobs.services import JobEffects, PermanentJobError, job_enqueue, job_reset, job_run
from dermrelay.notifications.models import NotificationKind
from dermrelay.notifications.services import notification_send
from inference.serving import quality as quality_analysis
from inference.serving.preprocessing import read_at_spacing
from inference.serving.registry import LoadedModel, ModelError, Registry

from . import gate
from .models import (
    DEFAULT_REIMAGE_AT_PERCENT, DEFAULT_REVIEW_AT_PERCENT, AnalysisRun, ExpertAnnotation, LesionOutline,
    LesionSource, ModelStatus, ModelVersion, MosaicQuality, Overlay, OverlayKind, QualityPolicy, Verdict,
    VerdictBasis,
)
from .plans import steps_for_image

logger = logging.getLogger(__name__)
QUALITY_STEP = "quality"
LOCKED_STATUSES = (CaseStatus.SIGNED, CaseStatus.AMENDED)
MAX_PROJECTION_SIDE = 2048  # the projection onto the dermoscopy is drawn at most this large

QUALITY_PALETTE = {gate.UNINFORMATIVE: (255, 64, 0, 255)}
QUALITY_LEGEND = [{"colour": "#ff4000", "label": "Uninformative (model)"}]
PROJECTION_PALETTE = {gate.INFORMATIVE: (0, 170, 255, 64), gate.UNINFORMATIVE: (255, 64, 0, 255)}
PROJECTION_LEGEND = [{"colour": "#00aaff", "label": "Imaged by the mosaic, informative", "alpha": 0.25},
                     {"colour": "#ff4000", "label": "Uninformative (model)"}]
AGREEMENT_PALETTE = {gate.AGREE: (0, 200, 0, 255), gate.MODEL_ONLY: (255, 230, 0, 255), gate.EXPERT_ONLY: (255, 0, 255, 255)}
AGREEMENT_LEGEND = [{"colour": "#00c800", "label": "Uninformative: model and expert agree"},
                    {"colour": "#ffe600", "label": "Uninformative by the model only"},
                    {"colour": "#ff00ff", "label": "Uninformative by the expert only"}]


# --------------------------------------------------------------------------- model versions


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    errors: list[str]


@transaction.atomic
def model_versions_sync(*, registry: Registry | None = None) -> SyncReport:
    """One row per card (name, version, weights hash); weights are verified now, not at first use.
    A new version of a name becomes active only when its weights verify and no version is active.
    A row whose weights no card of its name ships any more (an upgrade replaced them) is marked as
    an error and stops being active, so that the shipped version of that name takes over."""
    registry = registry or Registry()
    created = updated = 0
    errors = []
    cards = registry.cards()
    shipped: dict[str, set[str]] = {}
    for card in cards:
        shipped.setdefault(card.name, set()).add(card.weights["sha256"])
    for row in ModelVersion.objects.filter(name__in=shipped).exclude(status=ModelStatus.ERROR, is_active=False):
        if row.weights_sha256 not in shipped[row.name]:
            row.status, row.is_active = ModelStatus.ERROR, False
            row.status_detail = "no longer shipped: no card of this name has these weights"
            row.save(update_fields=["status", "is_active", "status_detail"])
    for card in cards:
        try:
            registry.verify(card)
            if card.data.get("onnx"):
                registry.verify(card, "onnx")  # CPU workers run the export: it must be intact too
            status, detail = ModelStatus.READY, ""
        except ModelError as exc:
            status, detail = ModelStatus.ERROR, str(exc)
            errors.append(detail)
        row, was_created = ModelVersion.objects.update_or_create(
            name=card.name, version=card.version, weights_sha256=card.weights["sha256"],
            defaults={"task": card.task, "modality": card.modality, "card": card.data, "status": status,
                      "status_detail": detail},
        )
        created += was_created
        updated += not was_created
        if status == ModelStatus.ERROR and row.is_active:
            row.is_active = False  # a broken active model stops being used, visibly
            row.save(update_fields=["is_active"])
        elif status == ModelStatus.READY and not ModelVersion.objects.filter(name=card.name, is_active=True).exists():
            row.is_active = True
            row.save(update_fields=["is_active"])
    return SyncReport(created=created, updated=updated, errors=errors)


_LOADED: dict[tuple[str, str, str], LoadedModel] = {}


def model_load(*, version: ModelVersion) -> LoadedModel:
    """The model of this version, loaded once per worker process. Its weights are verified against
    the card and the card against the registered row: a missing or altered file fails the run."""
    key = (version.name, version.version, version.weights_sha256)
    if key not in _LOADED:
        try:
            loaded = Registry().load(version.name, version=version.version)
        except ModelError as exc:
            raise PermanentJobError(f"The model {version.name} {version.version} cannot be used: {exc}") from exc
        if loaded.card.weights["sha256"] != version.weights_sha256:
            raise PermanentJobError(
                f"The installed card of {version.name} {version.version} names other weights than the registered version "
                f"({loaded.card.weights['sha256'][:12]}… instead of {version.weights_sha256[:12]}…); run models_sync.")
        _LOADED[key] = loaded
    return _LOADED[key]


def models_warm() -> list[str]:
    """Load every active model a plan step runs, in this process (a worker's pool process at start),
    so the first case after a start does not wait for it. Failures are left for the runs to report."""
    from .plans import PLANS

    loaded = []
    for steps in PLANS.values():
        for step in steps:
            version = active_version(name=step.model)
            if version is None or step.step not in RUNNERS:
                continue
            try:
                model_load(version=version)
                loaded.append(f"{version.name} {version.version}")
            except PermanentJobError as exc:
                logger.warning("model not warmed: %s", exc)
    return loaded


# --------------------------------------------------------------------------- requesting runs


def active_version(*, name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name, is_active=True, status=ModelStatus.READY).first()


def _run_request(*, image: Image, step: str, version: ModelVersion, actor=None) -> tuple[AnalysisRun, bool]:
    run, created = AnalysisRun.objects.get_or_create(
        image=image, model_version=version, input_sha256=image.sha256,
        defaults={"step": step, "requested_by": actor},
    )
    if created:
        job_enqueue(run)
    return run, created


@transaction.atomic
def analyses_request(*, image: Image) -> list[AnalysisRun]:
    """Queue the image's analysis plan (after its derivation). Idempotent: the unique input key
    turns a second request into the same rows, so a re-sent message never runs a model twice."""
    if image.status != ImageStatus.READY:
        return []
    runs = []
    for step in steps_for_image(image):
        if step.step not in RUNNERS:
            continue
        version = active_version(name=step.model)
        if version is not None:
            runs.append(_run_request(image=image, step=step.step, version=version)[0])
    return runs


@transaction.atomic
def image_analyses_refresh(*, image: Image) -> list[AnalysisRun]:
    """What the models were told about an image changed (pixel spacing, depth level): its finished
    runs on the same file run again, and steps that now apply are queued."""
    for run in AnalysisRun.objects.filter(image=image, input_sha256=image.sha256, state__in=FINISHED_STATES):
        job_reset(run)
        job_enqueue(run)
    return analyses_request(image=image)


LOCATION_STEPS = ("diagnosis",)  # steps whose model reads the lesion's anatomic site


@transaction.atomic
def lesion_analyses_refresh(*, lesion) -> list[AnalysisRun]:
    """The lesion's anatomic site changed: finished location-aware runs of its open cases' current
    images run again (a signed case keeps what its report was signed with; replaced images are history)."""
    runs = list(AnalysisRun.objects.filter(image__case__lesion=lesion, step__in=LOCATION_STEPS, state__in=FINISHED_STATES,
                                           input_sha256=F("image__sha256"), image__replaced_by__isnull=True)
                .exclude(image__case__status__in=LOCKED_STATUSES))
    for run in runs:
        job_reset(run)
        job_enqueue(run)
    return runs


@transaction.atomic
def anatomic_site_confirm(*, actor, case, anatom_site_general: str, anatom_site: str):
    """A person sets the lesion's anatomic site, usually the one the body-region map suggested
    (selectors.anatomic_site_suggestion). Audited; model B's runs follow the new site."""
    from dermrelay.cases.services import lesion_update

    from .selectors import anatomic_site_suggestion

    _check_open(case)
    suggestion = anatomic_site_suggestion(case=case)["suggestion"]
    lesion = lesion_update(actor=actor, lesion=case.lesion, anatom_site_general=anatom_site_general, anatom_site=anatom_site)
    audit_record(actor=actor, action="confirm_anatomic_site", object_type="lesion", object_id=lesion.id, site_id=case.site_id,
                 detail={"case": str(case.id), "suggested": suggestion,
                         "accepted_as_suggested": suggestion == {"anatom_site_general": anatom_site_general, "anatom_site": anatom_site}})
    return lesion


@transaction.atomic
def case_analyses_rerun(*, actor, case, model_version: ModelVersion) -> list[AnalysisRun]:
    """An admin's re-run of a case's images with a chosen version of a model (another version, or
    the same one again after a fix). Finished runs of the same input are reset, not duplicated."""
    if case.status in LOCKED_STATUSES:
        raise CaseLocked("The case is signed: its analyses can no longer change.")
    if model_version.status != ModelStatus.READY:
        raise ValidationError({"model_version": f"{model_version} cannot be used: {model_version.status_detail}"})
    runs = []
    for image in case.images.current().filter(status=ImageStatus.READY).order_by("created_at"):
        for step in steps_for_image(image):
            if step.model != model_version.name or step.step not in RUNNERS:
                continue
            run, created = _run_request(image=image, step=step.step, version=model_version, actor=actor)
            if not created and run.state in FINISHED_STATES:
                job_reset(run)
                AnalysisRun.objects.filter(pk=run.pk).update(requested_by=actor)
                job_enqueue(run)
            runs.append(run)
    if not runs:
        raise ValidationError({"model_version": f"No image of this case is analysed by {model_version.name}."})
    audit_record(actor=actor, action="rerun_analysis", object_type="case", object_id=case.id, site_id=case.site_id,
                 detail={"model": model_version.name, "version": model_version.version, "runs": [str(r.id) for r in runs]})
    return runs


# --------------------------------------------------------------------------- running


def analysis_work(run: AnalysisRun) -> JobEffects:
    """The work of an analysis job: the runner of its step, on a fresh copy of the row."""
    run = AnalysisRun.objects.select_related("image", "image__case", "model_version").get(pk=run.pk)
    if run.image.sha256 != run.input_sha256:
        raise PermanentJobError("The image's file changed since this run was requested.")
    return RUNNERS[run.step](run)


def analysis_execute(*, run: AnalysisRun) -> str | None:
    """Run now, in this process (tests, admin): a finished run is reset first."""
    job_reset(run)
    state = job_run(model=AnalysisRun, job_id=run.pk, work=analysis_work)
    analysis_finished(run_id=run.pk)
    return state


class _Stopwatch:
    """Seconds per stage of a run, for its `timings`."""

    def __init__(self):
        self.started = self.mark = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name], self.mark = now - self.mark, now

    def rounded(self) -> dict[str, float]:
        return {**{k: round(v, 4) for k, v in self.timings.items()}, "total_s": round(time.perf_counter() - self.started, 4)}


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()


def _quality_work(run: AnalysisRun) -> JobEffects:
    """MED-Net on the viewable mosaic (caption cropped as in the viewer) at the model's working
    spacing; stores the label map, the probability map and the quality overlay pyramid."""
    image = run.image
    if image.pixel_spacing_um is None:
        raise PermanentJobError("The mosaic's pixel spacing is unknown: set pixel_spacing_um on the image and the analysis runs again.")
    pyramid = imaging_selectors.pyramid_of(image=image)
    if pyramid is None:
        raise RuntimeError("the image has no pyramid yet")  # retried: derivation may still be committing
    watch = _Stopwatch()
    model = model_load(version=run.model_version)
    watch.lap("model_load_s")
    with image_local_path(image=image) as path:
        working = read_at_spacing(str(path), source_spacing_um=image.pixel_spacing_um,
                                  working_spacing_um=model.card.input["pixel_spacing_um"], crop=pyramid.crop)
    watch.lap("read_s")
    result = quality_analysis.analyse_pixels(model, working.pixels, scale=working.scale,
                                             source_spacing_um=image.pixel_spacing_um)
    watch.lap("inference_s")
    labels = gate.labels_from(mask=result.mask, valid=result.valid)
    prefix = f"analysis/{image.case.site_id}/{image.id}/run-{run.id}-{run.attempts}"
    default_storage.save(f"{prefix}/labels.png", ContentFile(_png_bytes(labels)))
    default_storage.save(f"{prefix}/probability.png",
                         ContentFile(_png_bytes(np.clip(result.probability * 255 + 0.5, 0, 255).astype(np.uint8))))
    overlay = overlay_write(rgba=colourise(labels, QUALITY_PALETTE), image_width=pyramid.width,
                            image_height=pyramid.height, site_id=image.case.site_id, image_id=image.id, kind="quality")
    watch.lap("outputs_s")
    timings = watch.rounded()
    outputs = {
        "working_spacing_um": result.working_spacing_um, "scale": working.scale,
        "working_size": [int(labels.shape[1]), int(labels.shape[0])], "mosaic_size": [pyramid.width, pyramid.height],
        "regions": result.regions[:200], "region_count": len(result.regions),
        "backend": model.backend, "device": model.device,
        "files": {"labels": f"{prefix}/labels.png", "probability": f"{prefix}/probability.png"},
        "labels_legend": {"0": "not imaged", "1": "informative", "2": "uninformative"},
    }

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(
            percent_uninformative=result.percent_uninformative, confidence=result.confidence, outputs=outputs,
            output_prefix=prefix, timings=timings)
        _overlay_store(image=image, source_image=image, kind=OverlayKind.QUALITY, run=run, pyramid=overlay,
                       legend=QUALITY_LEGEND, inputs_key=run.model_version.weights_sha256)

    def discard() -> None:
        prefix_delete(prefix)
        overlay_delete(overlay.prefix)

    return JobEffects(apply=apply, discard=discard)


MAX_DERMOSCOPY_SIDE = 2048  # the lesion mask is stored at most this large (the model works at 160x120)


def _rgb_of(path, *, max_side: int) -> np.ndarray:
    """An image as uint8 RGB, shrunk on load to at most `max_side` pixels on its longer side."""
    import pyvips

    image = pyvips.Image.thumbnail(str(path), max_side, height=max_side, size="down")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image.colourspace("srgb")  # grey or 16-bit RGB become 8-bit sRGB
    if image.format != "uchar":
        image = image.cast("uchar")
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, image.bands))[..., :3].copy()


def _model_and_rgb(run: AnalysisRun, *, max_side: int) -> tuple[_Stopwatch, LoadedModel, np.ndarray]:
    """What the photo runners start with: the run's model and its image as RGB, timed."""
    watch = _Stopwatch()
    model = model_load(version=run.model_version)
    watch.lap("model_load_s")
    with image_local_path(image=run.image) as path:
        rgb = _rgb_of(path, max_side=max_side)
    watch.lap("read_s")
    return watch, model, rgb


def _lesion_segmentation_work(run: AnalysisRun) -> JobEffects:
    """The lesion on a dermoscopy image, as a mask file and the model's outline of the image (a
    person's outline still wins); the case's mosaics are judged again after the run."""
    from inference.serving.lesion_segmentation import segment

    image = run.image
    watch, model, rgb = _model_and_rgb(run, max_side=MAX_DERMOSCOPY_SIDE)
    mask, probability = segment(model.predict, rgb)
    watch.lap("inference_s")
    prefix = f"analysis/{image.case.site_id}/{image.id}/run-{run.id}-{run.attempts}"
    mask_key = default_storage.save(f"{prefix}/lesion.png", ContentFile(_png_bytes(mask.astype(np.uint8) * 255)))
    outline = gate.outline_from_mask(mask, image_size=(image.width, image.height))  # drawn and edited; the mask is judged
    watch.lap("outputs_s")
    timings = watch.rounded()
    area = float(mask.mean() * 100)
    lesion_probability = float(probability[mask].mean()) if mask.any() else 0.0
    outputs = {"lesion_percent_of_image": round(area, 3), "mask_size": [int(mask.shape[1]), int(mask.shape[0])],
               "files": {"lesion": mask_key}, "backend": model.backend, "device": model.device,
               "found_lesion": bool(mask.any())}

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, output_prefix=prefix, confidence=lesion_probability,
                                                     timings=timings)
        if mask.any():
            LesionOutline.objects.update_or_create(dermoscopy=image, source=LesionSource.MODEL, defaults={
                "mask": mask_key, "polygon": outline, "run": run, "created_by": None})
        else:
            LesionOutline.objects.filter(dermoscopy=image, source=LesionSource.MODEL).delete()

    return JobEffects(apply=apply, discard=lambda: prefix_delete(prefix))


LESION_STEP = "lesion_segmentation"
DIAGNOSIS_STEP = "diagnosis"
DIAGNOSIS_IMAGE_ONLY_STEP = "diagnosis_image_only"
BODY_REGION_STEP = "body_region"
BODY_REGION_MODEL = "body-region"
DX_NAMES = {"akiec": "Actinic keratosis / intraepithelial carcinoma", "bcc": "Basal cell carcinoma",
            "bkl": "Benign keratosis-like lesion", "df": "Dermatofibroma", "mel": "Melanoma", "nv": "Melanocytic nevus",
            "vasc": "Vascular lesion"}
MAX_CLINICAL_SIDE = 1600  # clinical photos are mapped at most this large
# region7 order (inference.ham10000.REGION7); the label image stores region index + 1, 0 = no patch
BODY_REGION_COLOURS = {"arm": "#1f77b4", "leg": "#2ca02c", "feet": "#8c564b", "hand": "#9467bd", "head": "#ff7f0e",
                       "trunk": "#17becf", "other": "#7f7f7f"}


def _model_identity(model: LoadedModel) -> dict:
    return {"name": model.card.name, "version": model.card.version, "weights_sha256": model.card.weights["sha256"],
            "backend": model.backend}


def _ranked(labels: list[str], probabilities: np.ndarray) -> list[dict]:
    order = np.argsort(-probabilities)
    return [{"label": labels[k], "probability": round(float(probabilities[k]), 4)} for k in order]


def _diagnosis_location(image: Image, rgb_small: np.ndarray) -> dict:
    """Where the lesion is, for model B: its recorded anatomic site when that names a HAM10000
    location. Otherwise the body-region model's answer on the same image is recorded and given to B
    as the paper does, unless DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK is "unknown" (see settings)."""
    from django.conf import settings

    from inference.serving import body_sites
    from inference.serving.classification import classify
    from inference.serving.classification import REGION7

    lesion = image.case.lesion
    recorded = body_sites.location_from_anatom_site(anatom_site=lesion.anatom_site,
                                                    anatom_site_general=lesion.anatom_site_general)
    if recorded != body_sites.UNKNOWN:
        return {"location": recorded, "source": "recorded_anatomic_site",
                "anatom_site": lesion.anatom_site, "anatom_site_general": lesion.anatom_site_general}
    version = active_version(name=BODY_REGION_MODEL)
    if version is None:
        return {"location": body_sites.UNKNOWN, "source": "unknown",
                "note": "No anatomic site is recorded and no body-region model is installed."}
    region_model = model_load(version=version)
    probabilities = classify(region_model.predict, rgb_small[None])[0]
    region = REGION7[int(probabilities.argmax())]
    answer = {"region": region, "region_probability": round(float(probabilities.max()), 4),
              "region_model": _model_identity(region_model)}
    if settings.DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK == "body_region_model":
        return {"location": body_sites.location_from_region(region), "source": "body_region_model", **answer,
                "note": "No anatomic site is recorded: the diagnosis used the body-region model's answer as the "
                        "location. Confirm or correct the site, which runs the diagnosis again."}
    return {"location": body_sites.UNKNOWN, "source": "unknown", **answer,
            "note": "No anatomic site is recorded: the diagnosis ran without a location. The body-region model's "
                    "answer is shown for a person to confirm as the site, which runs the diagnosis again."}


def _diagnosis_work(run: AnalysisRun) -> JobEffects:
    """Model B (or A) on a dermoscopy image: the 7 HAM10000 classes ranked, with the body location B
    was given and where that came from. Decision support for the reader, never a verdict."""
    from inference.serving.classification import classify, location_index, resized

    image = run.image
    watch, model, rgb = _model_and_rgb(run, max_side=MAX_DERMOSCOPY_SIDE)
    small = resized(rgb)
    location = (_diagnosis_location(image, small) if model.takes_locations
                else {"location": "unknown", "source": "not_used", "note": "This model sees the image alone (model A)."})
    probabilities = classify(model.predict, small[None], np.array([location_index(location["location"])]))[0]
    watch.lap("inference_s")
    labels = list(model.card.labels)
    ranked = _ranked(labels, probabilities)
    outputs = {"ranked": [dict(r, name=DX_NAMES.get(r["label"], r["label"])) for r in ranked],
               "top": ranked[0]["label"], "location": location, "backend": model.backend, "device": model.device,
               "note": "Decision support from a model trained on HAM10000 only. NOT FOR CLINICAL USE."}

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, confidence=ranked[0]["probability"],
                                                     timings=watch.rounded())

    return JobEffects(apply=apply)


def body_region_map(model: LoadedModel, rgb: np.ndarray):
    """The body-region patch map of a photo: 4:3 patches half the photo's height (at least the
    model's 200x150 input) overlapping by half; a small photo is one patch."""
    from inference.serving.classification import IMAGE_SIZE, classify, resized
    from inference.serving.patch_map import grid_for, patch_map

    height = max(IMAGE_SIZE[1], rgb.shape[0] // 2)
    grid = grid_for(width=rgb.shape[1], height=rgb.shape[0], patch=(round(height * 4 / 3), height), overlap=0.5)
    return patch_map(rgb, grid=grid, score=lambda patches: classify(model.predict, np.stack([resized(p) for p in patches])),
                     batch=8)


def _body_region_work(run: AnalysisRun) -> JobEffects:
    """The body-region map of a clinical photo, its overall region, and the anatomic site it
    suggests for the lesion (a person confirms it; see anatomic_site_confirm)."""
    from inference.serving import body_sites

    watch, model, rgb = _model_and_rgb(run, max_side=MAX_CLINICAL_SIDE)
    found = body_region_map(model, rgb)
    watch.lap("inference_s")
    labels = list(model.card.labels)
    overall = found.overall
    ranked = _ranked(labels, overall)
    patch_labels = found.labels()
    outputs = {
        "region": ranked[0]["label"], "ranked": ranked,
        "suggested_site": body_sites.anatom_site_suggestion(ranked[0]["label"]),
        "map": {"image_size": [int(rgb.shape[1]), int(rgb.shape[0])], "patch": list(found.grid.patch),
                "xs": list(found.grid.xs), "ys": list(found.grid.ys),
                "regions": [[labels[k] if k >= 0 else None for k in row] for row in patch_labels.tolist()],
                "probabilities": np.round(found.scores, 3).tolist()},
        "backend": model.backend, "device": model.device,
        "note": "Trained on HAM10000 dermoscopy images; on clinical photos a suggestion for a person to confirm.",
    }

    image = run.image
    pyramid = imaging_selectors.pyramid_of(image=image)
    overlay = None
    colours = [BODY_REGION_COLOURS.get(label, "#7f7f7f") for label in labels]
    if pyramid is not None:  # the map drawn over the photo in the viewer
        palette = {k + 1: (*(int(c[i:i + 2], 16) for i in (1, 3, 5)), 255) for k, c in enumerate(colours)}
        overlay = overlay_write(rgba=colourise((found.label_image() + 1).astype(np.uint8), palette),
                                image_width=pyramid.width, image_height=pyramid.height, site_id=image.case.site_id,
                                image_id=image.id, kind=OverlayKind.BODY_REGION)
    legend = [{"colour": colour, "label": label} for label, colour in zip(labels, colours, strict=True)]

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, confidence=ranked[0]["probability"],
                                                     timings=watch.rounded())
        if overlay is not None:
            _overlay_store(image=image, source_image=image, kind=OverlayKind.BODY_REGION, run=run, pyramid=overlay,
                           legend=legend, inputs_key=run.model_version.weights_sha256)

    return JobEffects(apply=apply, discard=lambda: overlay_delete(overlay.prefix) if overlay else None)


RUNNERS: dict[str, Callable[[AnalysisRun], JobEffects]] = {
    QUALITY_STEP: _quality_work, LESION_STEP: _lesion_segmentation_work, DIAGNOSIS_STEP: _diagnosis_work,
    DIAGNOSIS_IMAGE_ONLY_STEP: _diagnosis_work, BODY_REGION_STEP: _body_region_work,
}
STEP_TEXT = {QUALITY_STEP: "quality analysis of a mosaic", LESION_STEP: "lesion segmentation of a dermoscopy image",
             DIAGNOSIS_STEP: "diagnosis model on a dermoscopy image",
             DIAGNOSIS_IMAGE_ONLY_STEP: "image-only diagnosis model on a dermoscopy image",
             BODY_REGION_STEP: "body-region map of a clinical photo"}


def analysis_finished(*, run_id) -> None:
    """After a run ends (task or in-process): judge the mosaic, or tell people the run failed."""
    run = AnalysisRun.objects.select_related("image", "image__case", "model_version").get(pk=run_id)
    if run.step == LESION_STEP and run.state == JobState.SUCCEEDED:
        effective = lesion_outline_effective(dermoscopy=run.image)
        if effective is None or effective.source == LesionSource.MODEL:  # a person's outline wins: nothing changed
            case_quality_assess(case=run.image.case)  # the model's outline may now decide the lesional %
        return
    if run.step == QUALITY_STEP and run.state == JobState.SUCCEEDED:
        mosaic_quality_assess(image=run.image)
    elif run.state == JobState.FAILED:
        case = run.image.case
        what = STEP_TEXT.get(run.step, run.step)
        notification_send(
            users=[case.technician, run.image.uploaded_by], site_id=case.site_id, case=case, image=run.image,
            kind=NotificationKind.ANALYSIS_FAILED, key=f"analysis_failed:{run.id}:{run.attempts}",
            message=f"The {what} could not run: {run.last_error.strip().splitlines()[-1][:300]}"
            if run.last_error.strip() else f"The {what} could not run.")


# --------------------------------------------------------------------------- the quality gate


def _overlay_store(*, image, source_image, kind, run, pyramid, legend, inputs_key) -> None:
    """Record an overlay (inside the caller's transaction); the one it replaces is removed after commit."""
    previous = Overlay.objects.filter(image=image, source_image=source_image, kind=kind).first()
    Overlay.objects.update_or_create(image=image, source_image=source_image, kind=kind, defaults={
        "run": run, "prefix": pyramid.prefix, "width": pyramid.width, "height": pyramid.height,
        "level_offset": pyramid.level_offset, "legend": legend, "inputs_key": inputs_key})
    if previous is not None and previous.prefix != pyramid.prefix:
        old = previous.prefix
        transaction.on_commit(lambda: overlay_delete(old))


def _overlay_remove(*, image, source_image, kind) -> None:
    for overlay in Overlay.objects.filter(image=image, source_image=source_image, kind=kind):
        old = overlay.prefix
        overlay.delete()
        transaction.on_commit(lambda: overlay_delete(old))


def quality_thresholds(*, site_id) -> tuple[float, float]:
    policy = QualityPolicy.objects.filter(site_id=site_id).first()
    if policy is None:
        return DEFAULT_REVIEW_AT_PERCENT, DEFAULT_REIMAGE_AT_PERCENT
    return policy.review_at_percent, policy.reimage_at_percent


def current_quality_run(*, image: Image) -> AnalysisRun | None:
    """The latest finished successful quality run: after an admin's re-run, that one counts."""
    return (AnalysisRun.objects.filter(image=image, step=QUALITY_STEP, state=JobState.SUCCEEDED)
            .select_related("model_version").order_by("-finished_at").first())


def lesion_outline_effective(*, dermoscopy: Image) -> LesionOutline | None:
    """A person's outline wins over the model's."""
    outlines = {o.source: o for o in LesionOutline.objects.filter(dermoscopy=dermoscopy)}
    return outlines.get(LesionSource.PERSON) or outlines.get(LesionSource.MODEL)


def _read_png(key: str) -> np.ndarray:
    with default_storage.open(key, "rb") as handle:
        return np.array(PILImage.open(handle))


def _lesion_on_mosaic(outline: LesionOutline, *, matrix, shape, scale) -> np.ndarray:
    """A person's polygon, or the model's mask (its traced polygon is for drawing, not judging)."""
    if not outline.mask:
        return gate.lesion_from_polygon(outline.polygon, matrix=matrix, shape=shape, scale=scale)
    mask = _read_png(outline.mask) > 0  # may be smaller than the image: dermoscopy pixels are scaled onto it
    dermoscopy = outline.dermoscopy
    return gate.lesion_from_mask(mask, matrix=matrix, shape=shape, scale=scale,
                                 image_size=(dermoscopy.width, dermoscopy.height))


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class _GateInputs:
    """Everything a judgement of a mosaic reads, read once."""

    run: AnalysisRun | None
    registration: object  # imaging.Registration | None
    outline: LesionOutline | None
    expert: ExpertAnnotation | None
    thresholds: tuple[float, float]

    @property
    def key(self) -> tuple:
        """Comparable values: equal keys mean the same judgement."""
        registration, outline, expert = self.registration, self.outline, self.expert
        return (
            self.run.pk if self.run else None,
            (registration.dermoscopy_id, json.dumps(registration.matrix)) if registration else None,
            (outline.pk, outline.updated_at) if outline else None,
            (expert.pk, expert.updated_at) if expert else None,
            self.thresholds,
        )


def _gate_inputs(image: Image) -> _GateInputs:
    registration = imaging_selectors.registration_of(mosaic=image)
    return _GateInputs(
        run=current_quality_run(image=image),
        registration=registration,
        outline=lesion_outline_effective(dermoscopy=registration.dermoscopy) if registration else None,
        expert=ExpertAnnotation.objects.filter(image=image).order_by("-updated_at").first(),
        thresholds=quality_thresholds(site_id=image.case.site_id),
    )


@dataclass
class _Judgement:
    inputs: _GateInputs
    fields: dict
    agreement_overlay: tuple | None = None
    projection: tuple | None = None

    def discard(self) -> None:
        for drawn in (self.agreement_overlay, self.projection):
            if drawn is not None:
                overlay_delete(drawn[1].prefix)


def _problem_region(labels, *, lesion, on_lesion: bool, percent: float, run: AnalysisRun, registration) -> dict | None:
    """Where the problem is, for the technician: on the mosaic and on the registered dermoscopy image."""
    dermoscopy = registration.dermoscopy if registration is not None else None
    mosaic_size = run.outputs.get("mosaic_size")
    found = gate.problem_region(
        labels, lesion=lesion, on_lesion=on_lesion, scale=float(run.outputs["scale"]), share_percent=percent,
        matrix=registration.matrix if registration is not None else None,
        mosaic_size=tuple(mosaic_size) if mosaic_size else None,
        dermoscopy_size=(dermoscopy.width, dermoscopy.height) if dermoscopy is not None else None)
    if found is None:
        return None
    return {**found.as_dict(), "dermoscopy_image": str(dermoscopy.id) if dermoscopy is not None else None}


def _judge(image: Image, inputs: _GateInputs) -> _Judgement:
    """The judgement of a mosaic from these inputs; overlays whose inputs changed are drawn (as files
    only: nothing is recorded yet)."""
    run, registration, outline, expert = inputs.run, inputs.registration, inputs.outline, inputs.expert
    labels = _read_png(run.outputs["files"]["labels"])
    scale = float(run.outputs["scale"])
    lesion = _lesion_on_mosaic(outline, matrix=registration.matrix, shape=labels.shape, scale=scale) if outline else None
    found = gate.shares(labels, lesion)
    review_at, reimage_at = inputs.thresholds
    if outline is None:
        basis, note = VerdictBasis.WHOLE_MOSAIC, (
            "No registration to the dermoscopy image: the whole mosaic was judged." if registration is None
            else "No lesion outline on the dermoscopy image: the whole mosaic was judged.")
    elif found.lesion_pixels < gate.MIN_LESION_PIXELS:
        basis, note = VerdictBasis.WHOLE_MOSAIC, "The lesion does not lie on this mosaic's imaged area: the whole mosaic was judged."
    else:
        basis, note = VerdictBasis.LESION, f"Judged on the lesion ({outline.get_source_display().lower()})."
    percent = found.percent_lesion if basis == VerdictBasis.LESION else found.percent_whole
    verdict = gate.verdict_for(percent, review_at=review_at, reimage_at=reimage_at)
    judgement = _Judgement(inputs=inputs, fields={
        "run": run, "percent_whole": found.percent_whole, "percent_lesion": found.percent_lesion,
        "lesion_source": outline.source if outline else "", "lesion_imaged_percent": found.lesion_imaged_percent,
        "basis": basis, "basis_note": note, "verdict": verdict,
        "review_at_percent": review_at, "reimage_at_percent": reimage_at, "agreement": None,
        "problem_region": None if verdict == Verdict.ACCEPTABLE else _problem_region(
            labels, lesion=lesion, on_lesion=basis == VerdictBasis.LESION, percent=percent, run=run,
            registration=registration)})
    pyramid = imaging_selectors.pyramid_of(image=image)
    if expert is not None and pyramid is not None:
        expert_mask = gate.polygons_raster(expert.polygons, shape=labels.shape,
                                           transform=lambda pts: gate._working_from_mosaic(pts, scale))
        agreement_map, figures = gate.agreement_labels(labels, expert_mask)
        judgement.fields["agreement"] = {
            "sensitivity": figures.sensitivity, "specificity": figures.specificity, "dice": figures.dice,
            "expert": str(expert.created_by_id), "annotated_at": expert.updated_at.isoformat()}
        key = _key(run.id, expert.id, expert.updated_at)
        if not Overlay.objects.filter(image=image, source_image=image, kind=OverlayKind.AGREEMENT, inputs_key=key).exists():
            judgement.agreement_overlay = (key, overlay_write(
                rgba=colourise(agreement_map, AGREEMENT_PALETTE), image_width=pyramid.width, image_height=pyramid.height,
                site_id=image.case.site_id, image_id=image.id, kind="agreement"))
    if registration is not None:
        dermoscopy = registration.dermoscopy
        key = _key(run.id, registration.matrix, dermoscopy.id)
        if not Overlay.objects.filter(image=dermoscopy, source_image=image, kind=OverlayKind.PROJECTION, inputs_key=key).exists():
            offset = max(0, math.ceil(math.log2(max(dermoscopy.width, dermoscopy.height) / MAX_PROJECTION_SIDE)))
            width, height = level_size(image_width=dermoscopy.width, image_height=dermoscopy.height, level_offset=offset)
            projected = gate.project_labels(labels, matrix=registration.matrix, scale=scale,
                                            target_shape=(height, width), target_step=2 ** offset)
            judgement.projection = (key, overlay_write(
                rgba=colourise(projected, PROJECTION_PALETTE), image_width=dermoscopy.width, image_height=dermoscopy.height,
                site_id=image.case.site_id, image_id=dermoscopy.id, kind="projection", level_offset=offset))
    return judgement


def mosaic_quality_assess(*, image: Image, attempts: int = 5) -> MosaicQuality | None:
    """Judge one mosaic from its current quality run; draws the projection and agreement overlays
    when their inputs changed. Safe to call any number of times, from any process: the judgement is
    recorded only if its inputs are still current under the mosaic's row lock, else it is made
    again, so a slow judgement never overwrites a newer one. A signed case is left as signed."""
    image = Image.objects.select_related("case").get(pk=image.pk)
    for _ in range(attempts):
        if image.case.status in LOCKED_STATUSES:
            return MosaicQuality.objects.filter(image=image).first()
        inputs = _gate_inputs(image)
        if inputs.run is None:
            return None
        judgement = _judge(image, inputs)
        with transaction.atomic():
            Image.objects.select_for_update().filter(pk=image.pk).first()  # one judgement of a mosaic at a time
            if _gate_inputs(image).key != inputs.key:
                transaction.on_commit(judgement.discard)
                continue  # an input changed meanwhile: judge again
            return _judgement_record(image, judgement)
    raise RuntimeError(f"the quality inputs of mosaic {image.pk} kept changing; judged by the reconciler later")


def _as_stored(value):
    """A judgement field's value as the database gives it back: JSON lists for tuples, plain floats."""
    return json.loads(json.dumps(value, default=float))


def _repeats(previous: MosaicQuality | None, fields: dict) -> bool:
    """Whether a judgement is the recorded one again: the worker and the reconciler (or a re-sent
    message) judging the same inputs. Its time then stays when it was first made."""
    return previous is not None and all(
        previous.run_id == value.pk if name == "run" else _as_stored(getattr(previous, name)) == _as_stored(value)
        for name, value in fields.items())


def _judgement_record(image: Image, judgement: _Judgement) -> MosaicQuality:
    """Write a judgement whose inputs are current (inside the locking transaction)."""
    previous = MosaicQuality.objects.filter(image=image).first()
    if _repeats(previous, judgement.fields):
        assessed = previous
    else:
        assessed, _ = MosaicQuality.objects.update_or_create(image=image, defaults=judgement.fields)
    run, registration, fields = judgement.inputs.run, judgement.inputs.registration, judgement.fields
    if judgement.agreement_overlay is not None:
        _overlay_store(image=image, source_image=image, kind=OverlayKind.AGREEMENT, run=run,
                       pyramid=judgement.agreement_overlay[1], legend=AGREEMENT_LEGEND, inputs_key=judgement.agreement_overlay[0])
    elif judgement.inputs.expert is None:
        _overlay_remove(image=image, source_image=image, kind=OverlayKind.AGREEMENT)
    if judgement.projection is not None:
        for stale in Overlay.objects.filter(source_image=image, kind=OverlayKind.PROJECTION).exclude(image=registration.dermoscopy):
            _overlay_remove(image=stale.image, source_image=image, kind=OverlayKind.PROJECTION)
        _overlay_store(image=registration.dermoscopy, source_image=image, kind=OverlayKind.PROJECTION, run=run,
                       pyramid=judgement.projection[1], legend=PROJECTION_LEGEND, inputs_key=judgement.projection[0])
    elif registration is None:
        for overlay in Overlay.objects.filter(source_image=image, kind=OverlayKind.PROJECTION):
            _overlay_remove(image=overlay.image, source_image=image, kind=OverlayKind.PROJECTION)
    # A whole-mosaic verdict while the case's dermoscopy image still lacks its outline or
    # registration is provisional: the lesional rule may clear it, so nobody is called back yet.
    basis, verdict = fields["basis"], fields["verdict"]
    provisional = basis == VerdictBasis.WHOLE_MOSAIC and judgement.inputs.outline is None and image.case.images.current(
        ).filter(kind=ImageKind.DERMOSCOPY).exists()
    # A mosaic kept as history (replaced by a new capture) calls nobody back.
    became_reimage = verdict == Verdict.REIMAGE and not provisional and image.is_current and (
        previous is None or previous.verdict != Verdict.REIMAGE or previous.basis != basis)
    if became_reimage:
        case = image.case
        percent = fields["percent_lesion"] if basis == VerdictBasis.LESION else fields["percent_whole"]
        where = "within the lesion" if basis == VerdictBasis.LESION else "over the whole mosaic"
        depth = image.get_depth_level_display() if image.depth_level else "a"
        reimage_at = fields["reimage_at_percent"]
        region = fields.get("problem_region")
        mostly = f" The uninformative area lies {region['description']}." if region else ""  # "at the centre of the lesion"
        transaction.on_commit(lambda: notification_send(
            users=[case.technician, image.uploaded_by], site_id=case.site_id, case=case, image=image,
            kind=NotificationKind.REIMAGE_RECOMMENDED, key=f"reimage:{image.id}:{run.id}:{basis}",
            message=f"Re-imaging recommended: the {depth} mosaic is {percent:.0f}% uninformative {where} "
                    f"(threshold {reimage_at:g}%).{mostly}"))
    return assessed


def case_quality_assess(*, case) -> list[MosaicQuality]:
    """Judge every current mosaic of a case again (after its lesion outline or a registration
    changed); a replaced mosaic keeps the judgement it had (it is judged again if it becomes current)."""
    judged = []
    for image in case.images.current().filter(kind=ImageKind.RCM_MOSAIC):  # mosaics without a quality run are skipped
        found = mosaic_quality_assess(image=image)
        if found is not None:
            judged.append(found)
    return judged


def quality_assess_stale(*, limit: int = 200) -> int:
    """Judge again the mosaics whose judgement is missing, older than their current quality run, or
    made with other thresholds than their site's (a crash between run and judgement, a change of
    policy). Run by the periodic reconciler; returns how many were judged."""
    latest = (AnalysisRun.objects.filter(image=OuterRef("image"), step=QUALITY_STEP, state=JobState.SUCCEEDED)
              .order_by("-finished_at").values("id")[:1])
    unjudged = (AnalysisRun.objects.filter(step=QUALITY_STEP, state=JobState.SUCCEEDED, image__quality__isnull=True,
                                           image__replaced_by__isnull=True)
                .exclude(image__case__status__in=LOCKED_STATUSES).values_list("image_id", flat=True))
    open_current = MosaicQuality.objects.exclude(image__case__status__in=LOCKED_STATUSES).filter(image__replaced_by__isnull=True)
    outdated = (open_current.annotate(latest=Subquery(latest)).exclude(run_id=F("latest")).values_list("image_id", flat=True))
    policy_changed = (open_current
                      .filter(image__case__site__quality_policy__isnull=False)
                      .filter(~Q(review_at_percent=F("image__case__site__quality_policy__review_at_percent"))
                              | ~Q(reimage_at_percent=F("image__case__site__quality_policy__reimage_at_percent")))
                      .values_list("image_id", flat=True))
    defaults_changed = (open_current
                        .filter(image__case__site__quality_policy__isnull=True)
                        .filter(~Q(review_at_percent=DEFAULT_REVIEW_AT_PERCENT) | ~Q(reimage_at_percent=DEFAULT_REIMAGE_AT_PERCENT))
                        .values_list("image_id", flat=True))
    image_ids = []
    for query in (unjudged, outdated, policy_changed, defaults_changed):
        image_ids += [i for i in query[:limit] if i not in image_ids]
    for image_id in image_ids[:limit]:
        try:
            mosaic_quality_assess(image=Image(pk=image_id))
        except Exception:  # one broken mosaic must not stop the others
            logger.exception("quality judgement of %s failed", image_id)
    return len(image_ids[:limit])


# --------------------------------------------------------------------------- inputs of the gate


def _check_open(case, *, what: str = "its quality inputs") -> None:
    if case.status in LOCKED_STATUSES:
        raise CaseLocked(f"The case is signed: {what} can no longer change.")


def _check_current(image: Image) -> None:
    """A replaced image is history: its lesion outline stays as it was judged with."""
    if image.replaced_by_id is not None:
        raise ImageConflict(f"Image {image.id} was replaced by image {image.replaced_by_id}; outline the lesion on "
                            "the current dermoscopy image.", code="image_replaced")


ANNOTATION_WHO = {
    False: "the clinic's technicians and site administrators, and the reader the case is assigned to",
    True: "a site administrator of the case's site or the reader the case is assigned to",
}


def _check_annotator(*, actor, image: Image, expert: bool, action: str) -> None:
    """Who may draw on the case's images (cases.selectors.annotation_scope), checked here so that no
    caller can skip it; a refusal is audited."""
    if not case_annotatable(user=actor, case=image.case, expert=expert):
        audit_record(actor=actor, action=action, object_type="expert_annotation" if expert else "lesion_outline",
                     object_id=image.id, site_id=image.case.site_id, outcome=AuditOutcome.DENIED)
        what = "expert annotations" if expert else "the lesion outline"
        raise PermissionDenied(f"Only {ANNOTATION_WHO[expert]} may change {what} of this case.")


def _polygon_checked(points, *, width: int, height: int, field: str) -> list[list[float]]:
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError({field: "A polygon is a list of [x, y] points."}) from None
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3:
        raise ValidationError({field: "A polygon needs at least three [x, y] points."})
    if not np.all(np.isfinite(array)):
        raise ValidationError({field: "Polygon points must be finite numbers."})
    if array[:, 0].min() < -1 or array[:, 1].min() < -1 or array[:, 0].max() > width + 1 or array[:, 1].max() > height + 1:
        raise ValidationError({field: f"The polygon leaves the image ({width}x{height} pixels)."})
    doubled_area = np.abs(np.dot(array[:, 0], np.roll(array[:, 1], 1)) - np.dot(array[:, 1], np.roll(array[:, 0], 1)))
    if doubled_area < 2.0:
        raise ValidationError({field: "The polygon encloses no area."})
    return array.round(2).tolist()


def lesion_outline_set(*, actor, dermoscopy: Image, polygon) -> LesionOutline:
    """A person's outline of the lesion on the dermoscopy image (the clinic's, or the assigned
    reader's); it wins over the model's mask and the case's mosaics are judged again at once."""
    _check_annotator(actor=actor, image=dermoscopy, expert=False, action="update_lesion_outline")
    if dermoscopy.kind != ImageKind.DERMOSCOPY:
        raise ValidationError({"image": "The lesion is outlined on the case's dermoscopy image."})
    _check_open(dermoscopy.case, what="its lesion outline")
    _check_current(dermoscopy)
    checked = _polygon_checked(polygon, width=dermoscopy.width, height=dermoscopy.height, field="polygon")
    if len(checked) > 10000:
        raise ValidationError({"polygon": "At most 10000 points."})
    with transaction.atomic():
        outline, _ = LesionOutline.objects.update_or_create(
            dermoscopy=dermoscopy, source=LesionSource.PERSON,
            defaults={"polygon": checked, "mask": "", "run": None, "created_by": actor})
        audit_record(actor=actor, action="update", object_type="lesion_outline", object_id=dermoscopy.id,
                     site_id=dermoscopy.case.site_id, detail={"points": len(checked)})
    case_quality_assess(case=dermoscopy.case)
    return outline


def lesion_outline_delete(*, actor, dermoscopy: Image) -> None:
    """Back to the model's outline (or none): the mosaics are judged again."""
    _check_annotator(actor=actor, image=dermoscopy, expert=False, action="delete_lesion_outline")
    _check_open(dermoscopy.case, what="its lesion outline")
    _check_current(dermoscopy)
    with transaction.atomic():
        LesionOutline.objects.filter(dermoscopy=dermoscopy, source=LesionSource.PERSON).delete()
        audit_record(actor=actor, action="delete", object_type="lesion_outline", object_id=dermoscopy.id,
                     site_id=dermoscopy.case.site_id)
    case_quality_assess(case=dermoscopy.case)


def expert_annotation_set(*, actor, image: Image, polygons) -> ExpertAnnotation:
    """An expert's uninformative areas on a mosaic (viewable-mosaic pixels), by a site admin or the
    case's assigned reader: the agreement overlay and figures follow (the latest annotation counts)."""
    _check_annotator(actor=actor, image=image, expert=True, action="update_expert_annotation")
    if image.kind != ImageKind.RCM_MOSAIC:
        raise ValidationError({"image": "Expert quality annotations are drawn on RCM mosaics."})
    _check_open(image.case, what="its expert annotations")
    pyramid = imaging_selectors.pyramid_of(image=image)
    width, height = (pyramid.width, pyramid.height) if pyramid else (image.width, image.height)
    if not isinstance(polygons, list) or len(polygons) > 1000:
        raise ValidationError({"polygons": "Give a list of at most 1000 polygons."})
    checked = [_polygon_checked(p, width=width, height=height, field="polygons") for p in polygons]
    with transaction.atomic():
        annotation, _ = ExpertAnnotation.objects.update_or_create(image=image, created_by=actor,
                                                                  defaults={"polygons": checked})
        audit_record(actor=actor, action="update", object_type="expert_annotation", object_id=image.id,
                     site_id=image.case.site_id, detail={"polygons": len(checked)})
    mosaic_quality_assess(image=image)
    return annotation


def expert_annotation_delete(*, actor, image: Image) -> bool:
    """Remove the actor's own annotation of the mosaic; False (nothing audited, nothing judged)
    when they have none, so that a caller does not report a deletion that did not happen."""
    _check_annotator(actor=actor, image=image, expert=True, action="delete_expert_annotation")
    _check_open(image.case, what="its expert annotations")
    with transaction.atomic():
        deleted, _ = ExpertAnnotation.objects.filter(image=image, created_by=actor).delete()
        if not deleted:
            return False
        audit_record(actor=actor, action="delete", object_type="expert_annotation", object_id=image.id,
                     site_id=image.case.site_id)
    mosaic_quality_assess(image=image)
    return True


def quality_policy_set(*, actor, site, review_at_percent: float, reimage_at_percent: float) -> QualityPolicy:
    """A site's thresholds. Open cases are judged again by the reconciler within seconds (the
    judgement records the thresholds it used); signed cases keep theirs."""
    if not (0 < review_at_percent <= reimage_at_percent <= 100):
        raise ValidationError({"review_at_percent": "Thresholds must satisfy 0 < review ≤ re-image ≤ 100."})
    with transaction.atomic():
        policy, _ = QualityPolicy.objects.update_or_create(site=site, defaults={
            "review_at_percent": review_at_percent, "reimage_at_percent": reimage_at_percent, "updated_by": actor})
        audit_record(actor=actor, action="update", object_type="quality_policy", object_id=site.id, site_id=site.id,
                     detail={"review_at_percent": review_at_percent, "reimage_at_percent": reimage_at_percent})
    return policy
