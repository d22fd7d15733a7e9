"""The periodic reconciler (celery beat): sends again every job the broker may have lost, and removes
the outputs of attempts whose process died with no later attempt to settle them."""

from __future__ import annotations

from celery import shared_task

from .registry import job_models
from .services import job_outputs_sweep, jobs_reconcile, lease_seconds


@shared_task(name="dermrelay.jobs.tasks.reconcile", acks_late=True, ignore_result=True)
def reconcile_task() -> int:
    job_outputs_sweep(older_than_seconds=2 * lease_seconds())
    return jobs_reconcile(models=job_models())
