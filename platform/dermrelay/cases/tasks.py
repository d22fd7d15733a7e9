"""Celery tasks of cases that chain nothing (the case's advance is the pipeline's)."""

from celery import shared_task

from . import resumable_uploads


@shared_task(name="dermrelay.cases.tasks.upload_expired_purge", ignore_result=True)
def upload_expired_purge_task() -> int:
    """Hourly (beat): staging files and rows of resumable uploads that were never finished."""
    return resumable_uploads.upload_expired_purge()
