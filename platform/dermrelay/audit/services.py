"""Writing audit events. Callers pass ids and types, never patient data (detail holds no PHI)."""

from __future__ import annotations

from typing import Any

from .middleware import break_glass_var, client_address_var
from .models import AuditEvent, AuditOutcome


def audit_record(
    *,
    actor,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    site_id=None,
    outcome: str = AuditOutcome.SUCCESS,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event. The client address comes from the current request, when there is one; so
    does the emergency access grant of a session started without a second factor."""
    grant = break_glass_var.get()
    if grant:
        detail = {**(detail or {}), "break_glass": grant}
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id else "",
        site_id=site_id,
        client_address=client_address_var.get(),
        outcome=outcome,
        detail=detail or {},
    )
