"""Messages the platform leaves for a person: e.g. 're-imaging recommended' for a technician."""

from __future__ import annotations

import uuid

from django.db import models


class NotificationKind(models.TextChoices):
    REIMAGE_RECOMMENDED = "reimage_recommended", "Re-imaging recommended"
    ANALYSIS_FAILED = "analysis_failed", "An analysis failed"
    EMERGENCY_ACCESS = "emergency_access", "Emergency access granted or used"


class Notification(models.Model):
    """One message to one user about a case. `key` makes sending idempotent: the same event sent
    twice (a task run twice) is one notification."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notifications")
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    message = models.CharField(max_length=500, help_text="No patient identifiers: it may be shown on a shared screen.")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    image = models.ForeignKey("cases.Image", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_event")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]
