"""Celery tasks for analyses (queue `inference`): thin, load by id, call a service."""

from __future__ import annotations

from celery import shared_task

from dermrelay.jobs.models import JobState
from dermrelay.jobs.services import job_run

from . import services
from .models import AnalysisRun


@shared_task(name="dermrelay.analysis.tasks.analysis_run", acks_late=True, reject_on_worker_lost=True)
def analysis_run_task(run_id: str) -> None:
    state = job_run(model=AnalysisRun, job_id=run_id, work=services.analysis_work)
    if state in (JobState.SUCCEEDED, JobState.FAILED):
        services.analysis_finished(run_id=run_id)


@shared_task(name="dermrelay.analysis.tasks.quality_assess_stale", ignore_result=True)
def quality_assess_stale_task() -> int:
    return services.quality_assess_stale()
