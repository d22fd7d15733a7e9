"""Celery tasks of cases that chain nothing (the case's advance is the pipeline's)."""

from celery import shared_task

from dermrelay.storage import staging_sweep

from . import resumable_uploads

STAGING_SWEEP_AGE_SECONDS = 6 * 3600  # a multipart upload still arriving writes its file all the time


@shared_task(name="dermrelay.cases.tasks.upload_expired_purge", ignore_result=True)
def upload_expired_purge_task() -> int:
    """Hourly (beat): staging files and rows of resumable uploads that were never finished."""
    return resumable_uploads.upload_expired_purge()


@shared_task(name="dermrelay.cases.tasks.staging_sweep", ignore_result=True)
def staging_sweep_task() -> int:
    """Hourly (beat): staging files of multipart uploads whose web process was killed mid-request."""
    return staging_sweep(older_than_seconds=STAGING_SWEEP_AGE_SECONDS)
