"""The append-only record of who read or changed what."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


class WrittenOnce:
    """A model whose rows are written once: saving an existing row or deleting one raises
    `refusal` in Python, as the database's triggers do in SQL (row_guard.py)."""

    refusal: type[Exception] = AppendOnlyError
    refusal_text = "rows of this table are append-only"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.refusal(self.refusal_text)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.refusal(self.refusal_text)


class AuditEvent(WrittenOnce, models.Model):
    """One read, change or download of patient data, or a security event such as a login.

    Rows are never updated or deleted: the model refuses in Python and a trigger in the database
    (PostgreSQL since migration 0002, SQLite since 0003); each is sealed into a hash chain after it
    is written (AuditSeal, audit/chain.py).
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    site_id = models.UUIDField(null=True, blank=True, db_index=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action} {self.object_type}:{self.object_id}"

    refusal_text = "audit events are append-only"


class AuditSeal(WrittenOnce, models.Model):
    """The tamper-evident chain over the trail: one seal per event, in the order events were sealed
    (shortly after they were written, by audit.chain.audit_seal on the beat schedule). Each seal's
    hash is an HMAC, with a key kept outside the database, over the previous seal's hash and its
    event's content: an event changed, removed, forged or moved breaks the chain where it happened.
    `event_id` is a plain number, not a foreign key, so that a removed event leaves its seal behind."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    refusal_text = "audit seals are append-only"


class AuditChainHead(models.Model):
    """Where the chain ends (one row): verification compares the last seal with it, so seals cut
    from the end are found too; sealing locks it, so seals are written one sealer at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seals = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    sealed_through = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest sealed event")
