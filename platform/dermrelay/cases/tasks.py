"""Celery tasks for cases: thin, they load by id and call a service."""

from celery import shared_task

from . import services


@shared_task(name="dermrelay.cases.tasks.case_advance", acks_late=True)
def case_advance_task(case_id: str) -> None:
    services.case_advance(case_id=case_id)


@shared_task(name="dermrelay.cases.tasks.upload_expired_purge", ignore_result=True)
def upload_expired_purge_task() -> int:
    """Hourly (beat): staging files and rows of resumable uploads that were never finished."""
    return services.upload_expired_purge()
