"""Celery tasks for cases: thin, they load by id and call a service."""

from celery import shared_task

from . import services


@shared_task(name="dermrelay.cases.tasks.case_advance", acks_late=True)
def case_advance_task(case_id: str) -> None:
    services.case_advance(case_id=case_id)
