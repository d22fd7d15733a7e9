"""Analysis runs as reliable jobs: requested per step of an image's plan (one row per image, model
version and input SHA-256, so a repeated request never runs a model twice), run again when what
the models were told changes, re-run by an admin, and worked by the runner of their step."""

from __future__ import annotations


from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from dermrelay.audit.services import audit_record
from dermrelay.cases.models import LOCKED_STATUSES, Image, ImageStatus
from dermrelay.cases.services import CaseLocked
from dermrelay.notifications.models import NotificationKind
from dermrelay.notifications.services import notification_send
from dermrelay.jobs.models import FINISHED_STATES
from dermrelay.jobs.services import JobEffects, PermanentJobError, job_enqueue, job_reset

from dermrelay.analysis.models import AnalysisRun, ModelStatus, ModelVersion
from dermrelay.analysis.plans import (
    BODY_REGION_STEP, DIAGNOSIS_IMAGE_ONLY_STEP, DIAGNOSIS_STEP, LESION_STEP, QUALITY_STEP, steps_for_image,
)
from dermrelay.analysis.selectors import active_version

from dermrelay.analysis.runners import RUNNERS


def run_request(*, image: Image, step: str, version: ModelVersion, actor=None) -> tuple[AnalysisRun, bool]:
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
        version = active_version(name=step.model)
        if version is not None:
            runs.append(run_request(image=image, step=step.step, version=version)[0])
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
            if step.model != model_version.name:
                continue
            run, created = run_request(image=image, step=step.step, version=model_version, actor=actor)
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


def run_work(run: AnalysisRun) -> JobEffects:
    """The work of an analysis job: the runner of its step, on a fresh copy of the row."""
    run = AnalysisRun.objects.select_related("image", "image__case", "model_version").get(pk=run.pk)
    if run.image.sha256 != run.input_sha256:
        raise PermanentJobError("The image's file changed since this run was requested.")
    return RUNNERS[run.step](run)


STEP_TEXT = {QUALITY_STEP: "quality analysis of a mosaic", LESION_STEP: "lesion segmentation of a dermoscopy image",
             DIAGNOSIS_STEP: "diagnosis model on a dermoscopy image",
             DIAGNOSIS_IMAGE_ONLY_STEP: "image-only diagnosis model on a dermoscopy image",
             BODY_REGION_STEP: "body-region map of a clinical photo"}


def run_failure_notify(*, run: AnalysisRun) -> None:
    """Tell the case's technician and the image's uploader that a run failed, with its reason."""
    case = run.image.case
    what = STEP_TEXT.get(run.step, run.step)
    reason = run.last_error.strip()
    notification_send(
        users=[case.technician, run.image.uploaded_by], site_id=case.site_id, case=case, image=run.image,
        kind=NotificationKind.ANALYSIS_FAILED, key=f"analysis_failed:{run.id}:{run.attempts}",
        message=f"The {what} could not run: {reason.splitlines()[-1][:300]}" if reason else f"The {what} could not run.")
