"""The only tasks that chain one step to the next (pipeline.steps): thin, they load by id."""

from __future__ import annotations

from celery import shared_task

from dermrelay.analysis.models import AnalysisRun
from dermrelay.cases.services import case_advance
from dermrelay.imaging.models import DerivationJob
from dermrelay.jobs.models import JobState
from dermrelay.jobs.services import job_run

from . import steps


@shared_task(name="dermrelay.pipeline.tasks.derive", acks_late=True, reject_on_worker_lost=True)
def derive_task(job_id: str) -> None:
    state = job_run(model=DerivationJob, job_id=job_id, work=steps.derivation_work)
    if state in (JobState.SUCCEEDED, JobState.FAILED):
        job = DerivationJob.objects.get(pk=job_id)
        failed = (job.last_error.strip().splitlines() or ["an unknown error"])[-1] if state == JobState.FAILED else None
        steps.image_derived(image_id=job.image_id, failed_because=failed)


@shared_task(name="dermrelay.pipeline.tasks.analysis_run", acks_late=True, reject_on_worker_lost=True)
def analysis_run_task(run_id: str) -> None:
    state = job_run(model=AnalysisRun, job_id=run_id, work=steps.run_work)
    if state in (JobState.SUCCEEDED, JobState.FAILED):
        steps.run_finished(run_id=run_id)


@shared_task(name="dermrelay.pipeline.tasks.case_advance", acks_late=True)
def case_advance_task(case_id: str) -> None:
    case_advance(case_id=case_id)


@shared_task(name="dermrelay.pipeline.tasks.reconcile", ignore_result=True)
def reconcile_task() -> dict[str, int]:
    return steps.stale_work_reconcile()
