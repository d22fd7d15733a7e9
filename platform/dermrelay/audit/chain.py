"""Sealing the audit trail into a hash chain, and verifying it: what makes the trail
tamper-evident as well as append-only.

Events are written inside the requests that cause them; sealing happens after, in batches (beat,
every few seconds), so that no request waits on the one lock that orders the chain. Each seal's
HMAC covers the previous seal's and its event's content, with DERMRELAY_AUDIT_KEY, which the
database does not hold: someone able to write the database but not to read the platform's settings
cannot change, remove, forge or move an event without verification finding the place.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import AuditChainHead, AuditEvent, AuditSeal

logger = logging.getLogger(__name__)

SEAL_BATCH = 1000
# A transaction may commit its event a little after a later event was sealed: each pass looks this
# far back from the newest sealed event for events still without a seal.
LATE_COMMIT_WINDOW = datetime.timedelta(hours=1)
# Verification reports an event still unsealed after this long (the sealer stopped, or the event
# was written behind the platform's back).
UNSEALED_GRACE = datetime.timedelta(minutes=10)


def _content(event: AuditEvent) -> bytes:
    """The event as the seal covers it: every field, in a fixed form."""
    return json.dumps([
        event.id, event.occurred_at.astimezone(datetime.timezone.utc).isoformat(), event.actor_id,
        event.actor_username, event.action, event.object_type, event.object_id,
        str(event.site_id) if event.site_id else "", event.client_address or "", event.outcome, event.detail,
    ], sort_keys=True, separators=(",", ":"), default=str).encode()


def seal_hash(*, previous_hash: str, event: AuditEvent) -> str:
    key = settings.DERMRELAY_AUDIT_KEY.encode()
    return hmac.new(key, previous_hash.encode() + b"\n" + _content(event), hashlib.sha256).hexdigest()


def audit_seal() -> int:
    """Seal every committed event that has no seal yet, oldest first; returns how many."""
    sealed = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
            pending = AuditEvent.objects.filter(~Exists(AuditSeal.objects.filter(event_id=OuterRef("id"))))
            if head.sealed_through is not None:
                pending = pending.filter(occurred_at__gte=head.sealed_through - LATE_COMMIT_WINDOW)
            batch = list(pending.order_by("id")[:SEAL_BATCH])
            if not batch:
                return sealed
            previous = head.last_hash
            seals = []
            for event in batch:
                seal = AuditSeal(event_id=event.id, previous_hash=previous, hash=seal_hash(previous_hash=previous, event=event))
                seals.append(seal)
                previous = seal.hash
            AuditSeal.objects.bulk_create(seals)
            head.seals += len(seals)
            head.last_hash = previous
            newest = max(event.occurred_at for event in batch)
            head.sealed_through = max(newest, head.sealed_through) if head.sealed_through else newest
            head.save()
            sealed += len(seals)
            # the chain's end in the log too: a copy outside the database to compare the head with
            logger.info("audit sealed through seal %d: %s", head.seals, head.last_hash)


@dataclass(frozen=True)
class Finding:
    kind: str  # changed (content or place in time) | removed | chain_broken | end_cut | unsealed
    seal_id: int | None
    event_id: int | None
    message: str


def audit_verify(*, now: datetime.datetime | None = None) -> list[Finding]:
    """Walk the seals in order and check each against its event and its predecessor; then check
    the chain's end against the head and look for events that were never sealed."""
    findings: list[Finding] = []
    previous, count = "", 0
    seals = AuditSeal.objects.order_by("id")
    for seal in seals.iterator(chunk_size=SEAL_BATCH):
        count += 1
        if seal.previous_hash != previous:
            findings.append(Finding("chain_broken", seal.id, seal.event_id,
                                    f"seal {seal.id} does not follow the seal before it: a seal was removed or moved"))
        event = AuditEvent.objects.filter(pk=seal.event_id).first()
        if event is None:
            findings.append(Finding("removed", seal.id, seal.event_id, f"event {seal.event_id} was removed"))
        elif seal.hash != seal_hash(previous_hash=seal.previous_hash, event=event):
            findings.append(Finding("changed", seal.id, event.id, f"event {event.id} was changed after it was sealed"))
        previous = seal.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None and count:
        findings.append(Finding("end_cut", None, None, f"{count} seals but no record of where the chain ends: "
                                "it was removed, so seals cut from the end would go unseen"))
    if head is not None and head.last_hash != previous:
        findings.append(Finding("end_cut", None, None, (
            f"the chain ends at seal {count} ({previous[:12] or 'none'}) but was last sealed at {head.seals} "
            f"({head.last_hash[:12]}): seals were removed from its end")))
    cutoff = (now or timezone.now()) - UNSEALED_GRACE
    unsealed = AuditEvent.objects.filter(~Exists(AuditSeal.objects.filter(event_id=OuterRef("id"))), occurred_at__lt=cutoff)
    for event in unsealed.order_by("id")[:100]:
        findings.append(Finding("unsealed", None, event.id, (
            f"event {event.id} ({event.occurred_at:%Y-%m-%d %H:%M}) has no seal: it was written behind the "
            "platform's back, or the sealer is not running")))
    return findings
