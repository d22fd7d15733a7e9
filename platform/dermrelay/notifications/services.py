"""Sending and reading notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Notification


def notification_send(*, users: Iterable, site_id, kind: str, message: str, key: str, case=None, image=None) -> int:
    """One notification per user and key; returns how many were new."""
    sent = 0
    for user in {u.pk: u for u in users if u is not None and u.is_active}.values():
        try:
            with transaction.atomic():
                Notification.objects.create(user=user, site_id=site_id, kind=kind, message=message[:500], key=key[:200],
                                            case=case, image=image)
            sent += 1
        except IntegrityError:
            pass  # already sent
    return sent


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
