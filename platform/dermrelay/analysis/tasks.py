"""Worker start-up for analyses: each pool process that serves the `inference` queue loads the
active models once (the runs' task is the pipeline's)."""

from __future__ import annotations

import logging

from celery.signals import worker_process_init
from django.db import connections


from .catalogue import models_warm


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
            log.info("models loaded at process start: %s", ", ".join(models_warm()) or "none")
    except Exception:  # a worker must start even when the database is not there yet
        log.exception("models could not be loaded at process start")
    finally:
        connections.close_all()  # the pool process opens its own connections for its tasks
