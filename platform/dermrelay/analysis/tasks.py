"""Celery tasks for analyses (queue `inference`): thin, load by id, call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init
from django.db import connections

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


def _consumes_inference(app) -> bool:
    consume_from = getattr(app.amqp.queues, "consume_from", None)  # None: every queue
    return not consume_from or "inference" in consume_from


@worker_process_init.connect
def _models_warm(**kwargs) -> None:
    """Each pool process loads the active models once at start (their weights verified), not on the
    first case it runs. Only workers that consume the `inference` queue pay for it."""
    from dermrelay.celery import app

    log = logging.getLogger(__name__)
    try:
        if _consumes_inference(app):
            log.info("models loaded at process start: %s", ", ".join(services.models_warm()) or "none")
    except Exception:  # a worker must start even when the database is not there yet
        log.exception("models could not be loaded at process start")
    finally:
        connections.close_all()  # the pool process opens its own connections for its tasks
