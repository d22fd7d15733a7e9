"""The order of the work, in one place: upload → derive → analyse → gate → read.

Each app below does its own piece and never calls upward; what follows a piece is decided here.
Views call one step; tasks (pipeline.tasks) chain the steps that run in the background:

- image stored     → its derivation is queued (imaging)
- image derived    → its analysis plan is queued (analysis), in the derivation's own transaction
- run finished     → a lesion run's outline is recorded (gate), in the run's own transaction; then
                     the mosaics it touches are judged (gate), or people hear the run failed
- quality inputs changed (registration, lesion outline, expert annotation, thresholds, an image
                     current again) → the mosaics are judged again (gate)
- analysis inputs changed (pixel spacing, depth, the lesion's anatomic site) → runs again (analysis)
- case submitted   → the case moves on as far as its images allow (cases), again after each image
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from dermrelay.accounts.models import User
from dermrelay.analysis import runs
from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis.plans import LESION_STEP, QUALITY_STEP
from dermrelay.analysis.selectors import anatomic_site_suggestion
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as cases_selectors
from dermrelay.cases import services as cases
from dermrelay.cases.models import Case, Image, ImageKind, Lesion
from dermrelay.gate import annotations
from dermrelay.gate.judgement import case_quality_assess, mosaic_quality_assess
from dermrelay.gate.models import ExpertAnnotation, LesionOutline, LesionSource, QualityPolicy
from dermrelay.gate.selectors import lesion_outline_effective
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging import services as imaging
from dermrelay.jobs.models import JobState
from dermrelay.jobs.services import JobEffects

logger = logging.getLogger(__name__)


# --- upload and derive

def image_stored(*, image: Image) -> None:
    """A new image's derivation is queued (its message goes after the commit)."""
    imaging.derivation_request(image=image)


def image_store(*, actor: User, case: Case, staged, replaces=None, **fields: Any) -> tuple[Image, bool]:
    """Store an upload (cases.services.image_create) and queue its derivation. Should a crash come
    between the two, the reconciler queues the derivation of any image left stored and underived."""
    image, created = cases.image_create(actor=actor, case=case, staged=staged, replaces=replaces, **fields)
    if created:
        image_stored(image=image)
    return image, created


def derivation_work(job) -> JobEffects:
    """The derivation's work, and in the same transaction as its success, the image's analysis
    plan: a ready image always has its runs."""
    effects = imaging.derivation_run(job)

    def apply() -> None:
        effects.apply()
        runs.analyses_request(image=Image.objects.get(pk=job.image_id))

    return JobEffects(apply=apply, discard=effects.discard)


def image_derived(*, image_id, failed_because: str | None = None) -> None:
    """After a derivation ends: a failed one marks its image; the case moves on either way."""
    if failed_because is not None:
        imaging.image_mark_failed(image_id=image_id, reason=f"The image could not be prepared for viewing: {failed_because}")
    cases.case_advance(case_id=Image.objects.values_list("case_id", flat=True).get(pk=image_id))


# --- analyse

def run_work(run: AnalysisRun) -> JobEffects:
    """A run's work, and in the same transaction as its success, what the gate records from it
    (a lesion run's outline), so a crash never leaves a finished run without it."""
    effects = runs.run_work(run)

    def apply() -> None:
        effects.apply()
        finished = AnalysisRun.objects.select_related("image").get(pk=run.pk)
        if finished.step == LESION_STEP:
            annotations.lesion_outline_from_run(run=finished)

    return JobEffects(apply=apply, discard=effects.discard)


def run_finished(*, run_id) -> None:
    """After a run ends (task or in-process): judge what it changed, or tell people it failed."""
    run = AnalysisRun.objects.select_related("image", "image__case", "model_version").get(pk=run_id)
    if run.state == JobState.FAILED:
        runs.run_failure_notify(run=run)
    elif run.step == LESION_STEP:
        effective = lesion_outline_effective(dermoscopy=run.image)
        if effective is None or effective.source == LesionSource.MODEL:  # a person's outline wins: nothing changed
            case_quality_assess(case=run.image.case)  # the model's outline may now decide the lesional %
    elif run.step == QUALITY_STEP:
        mosaic_quality_assess(image=run.image)


def run_now(*, run: AnalysisRun) -> str | None:
    """Run an analysis in this process (admin, tests): a finished run is reset first."""
    from dermrelay.jobs.services import job_reset, job_run

    job_reset(run)
    state = job_run(model=AnalysisRun, job_id=run.pk, work=run_work)
    run_finished(run_id=run.pk)
    return state


# --- what the gate judges from

def registration_save(*, actor: User, mosaic: Image, dermoscopy: Image, **how: Any):
    """Record a registration, then judge the mosaic again: the lesion now falls elsewhere on it."""
    registration = imaging.registration_set(actor=actor, mosaic=mosaic, dermoscopy=dermoscopy, **how)
    mosaic_quality_assess(image=mosaic)
    return registration


def lesion_outline_save(*, actor: User, dermoscopy: Image, polygon) -> LesionOutline:
    outline = annotations.lesion_outline_set(actor=actor, dermoscopy=dermoscopy, polygon=polygon)
    case_quality_assess(case=dermoscopy.case)
    return outline


def lesion_outline_remove(*, actor: User, dermoscopy: Image) -> None:
    """Back to the model's outline (or none)."""
    annotations.lesion_outline_delete(actor=actor, dermoscopy=dermoscopy)
    case_quality_assess(case=dermoscopy.case)


def expert_annotation_save(*, actor: User, image: Image, polygons) -> ExpertAnnotation:
    annotation = annotations.expert_annotation_set(actor=actor, image=image, polygons=polygons)
    mosaic_quality_assess(image=image)
    return annotation


def expert_annotation_remove(*, actor: User, image: Image) -> bool:
    """False when the actor had none (nothing audited, nothing judged)."""
    removed = annotations.expert_annotation_delete(actor=actor, image=image)
    if removed:
        mosaic_quality_assess(image=image)
    return removed


def quality_policy_save(*, actor: User, site, review_at_percent: float, reimage_at_percent: float) -> QualityPolicy:
    """A site's thresholds; its open cases are judged again by the reconciler within seconds."""
    return annotations.quality_policy_set(actor=actor, site=site, review_at_percent=review_at_percent,
                                          reimage_at_percent=reimage_at_percent)


def image_remove(*, actor: User, image: Image) -> Image | None:
    """Delete a wrong upload; a mosaic it had replaced is current again and judged with today's inputs."""
    restored = cases.image_delete(actor=actor, image=image)
    if restored is not None and restored.kind == ImageKind.RCM_MOSAIC:
        restored_id = restored.id
        transaction.on_commit(lambda: _judge_quietly(restored_id))
    return restored


def _judge_quietly(image_id) -> None:
    try:
        mosaic_quality_assess(image=Image(pk=image_id))
    except Exception:  # the reconciler judges it later; what led here has succeeded
        logger.exception("quality judgement of mosaic %s failed", image_id)


# --- what the models were told

@transaction.atomic
def image_save(*, actor: User, image: Image, **fields: Any) -> Image:
    """Change an image's fields; when the models read one of them, its runs run again."""
    before = {name: getattr(image, name) for name in cases.ANALYSIS_INPUT_FIELDS}
    image = cases.image_update(actor=actor, image=image, **fields)
    if any(getattr(image, name) != value for name, value in before.items()):
        runs.image_analyses_refresh(image=image)
    return image


@transaction.atomic
def lesion_save(*, actor: User, lesion: Lesion, **fields: Any) -> Lesion:
    """Change a lesion; when its anatomic site changed, the location-aware runs run again."""
    before = {name: getattr(lesion, name) for name in cases.LESION_ANALYSIS_INPUT_FIELDS}
    lesion = cases.lesion_update(actor=actor, lesion=lesion, **fields)
    if any(getattr(lesion, name) != value for name, value in before.items()):
        runs.lesion_analyses_refresh(lesion=lesion)
    return lesion


@transaction.atomic
def anatomic_site_confirm(*, actor: User, case: Case, anatom_site_general: str, anatom_site: str) -> Lesion:
    """A person sets the lesion's anatomic site, usually the one the body-region map suggested.
    Audited, with whether it was the suggestion; model B's runs follow the new site."""
    annotations.check_open(case)
    suggestion = anatomic_site_suggestion(case=case)["suggestion"]
    lesion = lesion_save(actor=actor, lesion=case.lesion, anatom_site_general=anatom_site_general, anatom_site=anatom_site)
    audit_record(actor=actor, action="confirm_anatomic_site", object_type="lesion", object_id=lesion.id, site_id=case.site_id,
                 detail={"case": str(case.id), "suggested": suggestion,
                         "accepted_as_suggested": suggestion == {"anatom_site_general": anatom_site_general, "anatom_site": anatom_site}})
    return lesion


# --- submit

def case_submit(*, actor: User, case: Case) -> Case:
    """Hand the case over; it moves on as far as its images allow once the submission commits."""
    case = cases.case_submit(case=case, actor=actor)
    case_id = case.id

    def advance() -> None:
        from .tasks import case_advance_task  # the tasks chain these steps

        case_advance_task.delay(str(case_id))

    transaction.on_commit(advance)
    return case


# --- the reconciler

def stale_work_reconcile(*, limit: int = 200) -> dict[str, int]:
    """What a crash or a broker flush may have left out: derivations of stored images never
    queued, submitted cases that never moved on, judgements missing or made with other inputs than
    today's. Safe to run at any time."""
    from dermrelay.gate.judgement import quality_assess_stale

    underived = imaging_selectors.underived_images(limit=limit)
    for image in underived:
        image_stored(image=image)
    stalled = cases_selectors.cases_stalled(limit=limit, older_than_seconds=settings.DERMRELAY_JOB_REQUEUE_SECONDS)
    for case in stalled:
        cases.case_advance(case_id=case.id)
    return {"derivations_queued": len(underived), "cases_advanced": len(stalled),
            "mosaics_judged": quality_assess_stale(limit=limit)}


