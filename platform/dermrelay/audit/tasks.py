"""The audit trail's sealer, on the beat schedule (every DERMRELAY_RECONCILE_SECONDS)."""

from celery import shared_task

from . import chain


@shared_task(name="dermrelay.audit.tasks.audit_seal", ignore_result=True)
def audit_seal_task() -> int:
    return chain.audit_seal()
