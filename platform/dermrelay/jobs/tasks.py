"""The periodic reconciler (celery beat): sends again every job the broker may have lost."""

from __future__ import annotations

from celery import shared_task

from .registry import job_models
from .services import jobs_reconcile


@shared_task(name="dermrelay.jobs.tasks.reconcile", acks_late=True, ignore_result=True)
def reconcile_task() -> int:
    return jobs_reconcile(models=job_models())
