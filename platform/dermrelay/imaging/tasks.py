"""Celery tasks for derived files (queue `ingest`): thin, load by id, call a service."""

from __future__ import annotations

from celery import shared_task

from dermrelay.cases.services import case_advance
from dermrelay.jobs.models import JobState
from dermrelay.jobs.services import job_run
from dermrelay.storage import work_dirs_sweep

from . import services
from .models import DerivationJob


@shared_task(name="dermrelay.imaging.tasks.derivation_job", acks_late=True, reject_on_worker_lost=True)
def derivation_job_task(job_id: str) -> None:
    state = job_run(model=DerivationJob, job_id=job_id, work=services.derivation_run)
    if state in (JobState.SUCCEEDED, JobState.FAILED):
        job = DerivationJob.objects.select_related("image").get(pk=job_id)
        if state == JobState.FAILED:
            services.image_mark_failed(image_id=job.image_id, reason=f"The image could not be prepared for viewing: {job.last_error.strip().splitlines()[-1]}")
        case_advance(case_id=job.image.case_id)


@shared_task(name="dermrelay.imaging.tasks.work_dirs_sweep", ignore_result=True)
def work_dirs_sweep_task() -> int:
    return work_dirs_sweep(older_than_seconds=6 * 3600)
