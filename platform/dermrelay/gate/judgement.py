"""The quality gate's judgement of a mosaic: its current quality run, the lesion mapped onto it
through its registration, its site's thresholds. Re-judged whenever one of those inputs changes;
the reconciler catches any judgement a crash left out (`quality_assess_stale`). An unchanged
judgement redraws nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass

import numpy as np
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from PIL import Image as PILImage

from dermrelay.cases.models import LOCKED_STATUSES, Image, ImageKind
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging.overlays import colourise, level_size, overlay_delete, overlay_write
from dermrelay.jobs.models import JobState
from inference.serving import metrics
from inference.serving.calibration import Calibration, percent_interval
from dermrelay.notifications.models import NotificationKind
from dermrelay.notifications.services import notification_send

from dermrelay.analysis.models import AnalysisRun, Overlay, OverlayKind
from dermrelay.analysis.plans import (
    QUALITY_STEP,
)
from dermrelay.analysis.overlay_records import overlay_remove, overlay_store

from dermrelay.analysis import masks
from dermrelay.gate import geometry
from dermrelay.gate.models import (
    DEFAULT_REIMAGE_AT_PERCENT, DEFAULT_REVIEW_AT_PERCENT, ExpertAnnotation, LesionOutline, MosaicQuality,
    Verdict, VerdictBasis,
)
from dermrelay.gate.selectors import current_quality_run, lesion_outline_effective, quality_thresholds

logger = logging.getLogger(__name__)


MAX_PROJECTION_SIDE = 2048  # the projection onto the dermoscopy is drawn at most this large

PROJECTION_PALETTE = {masks.INFORMATIVE: (0, 170, 255, 64), masks.UNINFORMATIVE: (255, 64, 0, 255)}

PROJECTION_LEGEND = [{"colour": "#00aaff", "label": "Imaged by the mosaic, informative", "alpha": 0.25},
                     {"colour": "#ff4000", "label": "Uninformative (model)"}]

AGREEMENT_PALETTE = {geometry.AGREE: (0, 200, 0, 255), geometry.MODEL_ONLY: (255, 230, 0, 255), geometry.EXPERT_ONLY: (255, 0, 255, 255)}

AGREEMENT_LEGEND = [{"colour": "#00c800", "label": "Uninformative: model and expert agree"},
                    {"colour": "#ffe600", "label": "Uninformative by the model only"},
                    {"colour": "#ff00ff", "label": "Uninformative by the expert only"}]


def _read_png(key: str) -> np.ndarray:
    with default_storage.open(key, "rb") as handle:
        return np.array(PILImage.open(handle))


def _lesion_on_mosaic(outline: LesionOutline, *, matrix, shape, scale) -> np.ndarray:
    """A person's polygon, or the model's mask (its traced polygon is for drawing, not judging)."""
    if not outline.mask:
        return geometry.lesion_from_polygon(outline.polygon, matrix=matrix, shape=shape, scale=scale)
    mask = _read_png(outline.mask) > 0  # may be smaller than the image: dermoscopy pixels are scaled onto it
    dermoscopy = outline.dermoscopy
    return geometry.lesion_from_mask(mask, matrix=matrix, shape=shape, scale=scale,
                                 image_size=(dermoscopy.width, dermoscopy.height))


def inputs_key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class GateInputs:
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


def gate_inputs(image: Image) -> GateInputs:
    registration = imaging_selectors.registration_of(mosaic=image)
    return GateInputs(
        run=current_quality_run(image=image),
        registration=registration,
        outline=lesion_outline_effective(dermoscopy=registration.dermoscopy) if registration else None,
        expert=ExpertAnnotation.objects.filter(image=image).order_by("-updated_at").first(),
        thresholds=quality_thresholds(site_id=image.case.site_id),
    )


@dataclass
class Judgement:
    inputs: GateInputs
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
    found = geometry.problem_region(
        labels, lesion=lesion, on_lesion=on_lesion, scale=float(run.outputs["scale"]), share_percent=percent,
        matrix=registration.matrix if registration is not None else None,
        mosaic_size=tuple(mosaic_size) if mosaic_size else None,
        dermoscopy_size=(dermoscopy.width, dermoscopy.height) if dermoscopy is not None else None)
    if found is None:
        return None
    return {**found.as_dict(), "dermoscopy_image": str(dermoscopy.id) if dermoscopy is not None else None}


def _intervals(run: AnalysisRun, labels: np.ndarray, lesion: np.ndarray | None, found: geometry.Shares) -> dict:
    """Each %'s interval at the card's coverage, from the run's probability map; nulls when the
    card has no fitted interval or the run kept no map."""
    calibration = Calibration.from_card(run.model_version.card)
    fields = dict.fromkeys(("percent_whole_low", "percent_whole_high", "percent_lesion_low", "percent_lesion_high",
                            "interval_coverage"))
    key = run.outputs.get("files", {}).get("probability")
    if not calibration.has_interval or not key:
        return fields
    probability = _read_png(key).astype(np.float32) / 255.0
    valid = labels != masks.NOT_IMAGED
    whole = percent_interval(probability, valid, estimate_percent=found.percent_whole, calibration=calibration)
    lesional = None if found.percent_lesion is None or lesion is None else percent_interval(
        probability, valid & lesion, estimate_percent=found.percent_lesion, calibration=calibration)
    fields.update(interval_coverage=calibration.coverage)
    if whole is not None:
        fields.update(percent_whole_low=whole[0], percent_whole_high=whole[1])
    if lesional is not None:
        fields.update(percent_lesion_low=lesional[0], percent_lesion_high=lesional[1])
    return fields


def judgement_of(image: Image, inputs: GateInputs) -> Judgement:
    """The judgement of a mosaic from these inputs; overlays whose inputs changed are drawn (as files
    only: nothing is recorded yet)."""
    run, registration, outline, expert = inputs.run, inputs.registration, inputs.outline, inputs.expert
    labels = _read_png(run.outputs["files"]["labels"])
    scale = float(run.outputs["scale"])
    lesion = _lesion_on_mosaic(outline, matrix=registration.matrix, shape=labels.shape, scale=scale) if outline else None
    found = geometry.shares(labels, lesion)
    review_at, reimage_at = inputs.thresholds
    if outline is None:
        basis, note = VerdictBasis.WHOLE_MOSAIC, (
            "No registration to the dermoscopy image: the whole mosaic was judged." if registration is None
            else "No lesion outline on the dermoscopy image: the whole mosaic was judged.")
    elif found.lesion_pixels < geometry.MIN_LESION_PIXELS:
        basis, note = VerdictBasis.WHOLE_MOSAIC, "The lesion does not lie on this mosaic's imaged area: the whole mosaic was judged."
    else:
        basis, note = VerdictBasis.LESION, f"Judged on the lesion ({outline.get_source_display().lower()})."
    percent = found.percent_lesion if basis == VerdictBasis.LESION else found.percent_whole
    verdict = geometry.verdict_for(percent, review_at=review_at, reimage_at=reimage_at)
    judgement = Judgement(inputs=inputs, fields={
        "run": run, "percent_whole": found.percent_whole, "percent_lesion": found.percent_lesion,
        "lesion_source": outline.source if outline else "", "lesion_imaged_percent": found.lesion_imaged_percent,
        "basis": basis, "basis_note": note, "verdict": verdict,
        "review_at_percent": review_at, "reimage_at_percent": reimage_at, "agreement": None,
        **_intervals(run, labels, lesion, found),
        "problem_region": None if verdict == Verdict.ACCEPTABLE else _problem_region(
            labels, lesion=lesion, on_lesion=basis == VerdictBasis.LESION, percent=percent, run=run,
            registration=registration)})
    pyramid = imaging_selectors.pyramid_of(image=image)
    if expert is not None and pyramid is not None:
        expert_mask = geometry.polygons_raster(expert.polygons, shape=labels.shape,
                                           transform=lambda pts: geometry.working_from_mosaic(pts, scale))
        agreement_map, figures = geometry.agreement_labels(labels, expert_mask)
        imaged = labels != masks.NOT_IMAGED
        expert_percent = metrics.percent_uninformative(expert_mask & imaged, imaged)  # on the model's imaged area
        judgement.fields["agreement"] = {
            "sensitivity": figures.sensitivity, "specificity": figures.specificity, "dice": figures.dice,
            "expert_percent_whole": round(expert_percent, 3),
            "percent_signed_error": round(found.percent_whole - expert_percent, 3),
            "expert": str(expert.created_by_id), "annotated_at": expert.updated_at.isoformat()}
        key = inputs_key(run.id, expert.id, expert.updated_at)
        if not Overlay.objects.filter(image=image, source_image=image, kind=OverlayKind.AGREEMENT, inputs_key=key).exists():
            judgement.agreement_overlay = (key, overlay_write(
                rgba=colourise(agreement_map, AGREEMENT_PALETTE), image_width=pyramid.width, image_height=pyramid.height,
                site_id=image.case.site_id, image_id=image.id, kind="agreement"))
    if registration is not None:
        dermoscopy = registration.dermoscopy
        key = inputs_key(run.id, registration.matrix, dermoscopy.id)
        if not Overlay.objects.filter(image=dermoscopy, source_image=image, kind=OverlayKind.PROJECTION, inputs_key=key).exists():
            offset = max(0, math.ceil(math.log2(max(dermoscopy.width, dermoscopy.height) / MAX_PROJECTION_SIDE)))
            width, height = level_size(image_width=dermoscopy.width, image_height=dermoscopy.height, level_offset=offset)
            projected = geometry.project_labels(labels, matrix=registration.matrix, scale=scale,
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
        inputs = gate_inputs(image)
        if inputs.run is None:
            return None
        judgement = judgement_of(image, inputs)
        with transaction.atomic():
            Image.objects.select_for_update().filter(pk=image.pk).first()  # one judgement of a mosaic at a time
            if gate_inputs(image).key != inputs.key:
                transaction.on_commit(judgement.discard)
                continue  # an input changed meanwhile: judge again
            return judgement_record(image, judgement)
    raise RuntimeError(f"the quality inputs of mosaic {image.pk} kept changing; judged by the reconciler later")


def _as_stored(value):
    """A judgement field's value as the database gives it back: JSON lists for tuples, plain floats."""
    return json.loads(json.dumps(value, default=float))


def judgement_repeats(previous: MosaicQuality | None, fields: dict) -> bool:
    """Whether a judgement is the recorded one again: the worker and the reconciler (or a re-sent
    message) judging the same inputs. Its time then stays when it was first made."""
    return previous is not None and all(
        previous.run_id == value.pk if name == "run" else _as_stored(getattr(previous, name)) == _as_stored(value)
        for name, value in fields.items())


def _drawn_store(*, image, source_image, kind, run, drawn: tuple, legend) -> None:
    """Record an overlay this judgement drew, unless one drawn from the same inputs is recorded by
    now (two judgements of the same inputs drew at once: the worker and the reconciler, a re-sent
    message): then ours is removed and the recorded one stays, so a viewer showing its tiles keeps
    them. Inside the transaction that holds the mosaic's lock."""
    key, pyramid = drawn
    if Overlay.objects.filter(image=image, source_image=source_image, kind=kind, inputs_key=key).exists():
        transaction.on_commit(lambda: overlay_delete(pyramid.prefix))
        return
    overlay_store(image=image, source_image=source_image, kind=kind, run=run, pyramid=pyramid, legend=legend, inputs_key=key)


def judgement_record(image: Image, judgement: Judgement) -> MosaicQuality:
    """Write a judgement whose inputs are current (inside the locking transaction)."""
    previous = MosaicQuality.objects.filter(image=image).first()
    if judgement_repeats(previous, judgement.fields):
        assessed = previous
    else:
        assessed, _ = MosaicQuality.objects.update_or_create(image=image, defaults=judgement.fields)
    run, registration, fields = judgement.inputs.run, judgement.inputs.registration, judgement.fields
    if judgement.agreement_overlay is not None:
        _drawn_store(image=image, source_image=image, kind=OverlayKind.AGREEMENT, run=run,
                     drawn=judgement.agreement_overlay, legend=AGREEMENT_LEGEND)
    elif judgement.inputs.expert is None:
        overlay_remove(image=image, source_image=image, kind=OverlayKind.AGREEMENT)
    if judgement.projection is not None:
        for stale in Overlay.objects.filter(source_image=image, kind=OverlayKind.PROJECTION).exclude(image=registration.dermoscopy):
            overlay_remove(image=stale.image, source_image=image, kind=OverlayKind.PROJECTION)
        _drawn_store(image=registration.dermoscopy, source_image=image, kind=OverlayKind.PROJECTION, run=run,
                     drawn=judgement.projection, legend=PROJECTION_LEGEND)
    elif registration is None:
        for overlay in Overlay.objects.filter(source_image=image, kind=OverlayKind.PROJECTION):
            overlay_remove(image=overlay.image, source_image=image, kind=OverlayKind.PROJECTION)
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
