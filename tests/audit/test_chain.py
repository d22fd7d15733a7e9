"""The audit trail is tamper-evident: sealed into an HMAC chain shortly after each event is written,
and `manage.py audit_verify` finds an event changed, removed or moved in time, a seal removed or
cut from the end, an event never sealed, and a chain recomputed without the platform's key.

Tampering needs the database's own guards out of the way first (the triggers refuse UPDATE and
DELETE): what someone with direct access to the database files or an owner's role could do."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from dermrelay.audit.chain import audit_seal, audit_verify, seal_hash
from dermrelay.audit.models import AuditChainHead, AuditEvent, AuditSeal
from dermrelay.audit.row_guard import rows_unlocked
from dermrelay.audit.services import audit_record

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def guards_off():
    """The triggers out of the way, as a superuser of the database (PostgreSQL: replication mode
    fires no ordinary trigger) or the owner of its file (SQLite) can."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")
    else:
        with rows_unlocked():
            yield


@pytest.fixture
def sealed_trail():
    events = [audit_record(actor=None, action="view", object_type="case", object_id=f"case-{n}", detail={"n": n})
              for n in range(6)]
    assert audit_seal() == 6
    assert audit_verify() == []
    return events


def _kinds(findings) -> list[tuple[str, int | None]]:
    return [(finding.kind, finding.event_id) for finding in findings]


def test_an_untouched_trail_verifies_and_sealing_twice_adds_nothing(sealed_trail):
    assert audit_seal() == 0
    head = AuditChainHead.objects.get()
    assert head.seals == 6 and head.last_hash == AuditSeal.objects.order_by("id").last().hash
    call_command("audit_verify")  # exit status 0


def test_a_changed_event_is_found(sealed_trail):
    with guards_off():
        AuditEvent.objects.filter(pk=sealed_trail[2].pk).update(actor_username="someone-else")
    assert _kinds(audit_verify()) == [("changed", sealed_trail[2].pk)]
    with pytest.raises(CommandError, match="failed verification"):
        call_command("audit_verify")


def test_a_removed_event_is_found(sealed_trail):
    with guards_off():
        AuditEvent.objects.filter(pk=sealed_trail[3].pk).delete()
    assert _kinds(audit_verify()) == [("removed", sealed_trail[3].pk)]


def test_events_moved_in_time_are_found(sealed_trail):
    first, second = sealed_trail[1], sealed_trail[4]
    with guards_off():
        AuditEvent.objects.filter(pk=first.pk).update(occurred_at=second.occurred_at)
        AuditEvent.objects.filter(pk=second.pk).update(occurred_at=first.occurred_at)
    assert _kinds(audit_verify()) == [("changed", first.pk), ("changed", second.pk)]


def test_a_seal_removed_from_the_middle_or_cut_from_the_end_is_found(sealed_trail):
    seals = list(AuditSeal.objects.order_by("id"))
    with guards_off():
        AuditSeal.objects.filter(pk=seals[2].pk).delete()
    assert [f.kind for f in audit_verify()] == ["chain_broken"]
    with guards_off():
        AuditSeal.objects.filter(pk=seals[-1].pk).delete()
    assert [f.kind for f in audit_verify()] == ["chain_broken", "end_cut"]


def test_a_removed_chain_head_is_found(sealed_trail):
    AuditChainHead.objects.all().delete()  # the head is an ordinary row: its loss must not go unseen
    assert [f.kind for f in audit_verify()] == ["end_cut"]


def test_an_event_written_behind_the_platforms_back_is_found_when_not_sealed(sealed_trail):
    """The sealer seals what it finds: an event inserted directly is reported only while unsealed,
    which is why the sealer runs every few seconds and its chain's end is logged."""
    forged = AuditEvent.objects.create(action="view", object_type="case", object_id="invented")
    assert _kinds(audit_verify(now=timezone.now() + datetime.timedelta(minutes=11))) == [("unsealed", forged.pk)]


def test_a_chain_recomputed_without_the_platforms_key_is_found(sealed_trail, settings):
    """Changing an event and sealing it again needs the key, which the database does not hold."""
    real_key = settings.DERMRELAY_AUDIT_KEY
    settings.DERMRELAY_AUDIT_KEY = "a guess at the key"
    previous = AuditSeal.objects.order_by("id")[1].hash
    target = sealed_trail[2]
    with guards_off():
        AuditEvent.objects.filter(pk=target.pk).update(detail={"n": 99})
        changed = AuditEvent.objects.get(pk=target.pk)
        AuditSeal.objects.filter(event_id=target.pk).update(hash=seal_hash(previous_hash=previous, event=changed))
    settings.DERMRELAY_AUDIT_KEY = real_key  # verification runs with the platform's own key
    assert ("changed", target.pk) in _kinds(audit_verify())


def test_an_event_committed_after_a_later_one_was_sealed_is_still_sealed(sealed_trail):
    late = audit_record(actor=None, action="view", object_type="case", object_id="late")
    with guards_off():  # as if its transaction had committed after newer events were sealed
        AuditEvent.objects.filter(pk=late.pk).update(occurred_at=sealed_trail[0].occurred_at - datetime.timedelta(minutes=5))
    assert audit_seal() == 1
    assert audit_verify() == []


def test_sealing_runs_on_the_beat_schedule(settings):
    from dermrelay.celery import app

    app.loader.import_default_modules()  # what a worker does at start
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "dermrelay.audit.tasks.audit_seal")
    assert entry["schedule"] <= 60 and "dermrelay.audit.tasks.audit_seal" in app.tasks


@pytest.mark.postgres
def test_the_applications_role_cannot_truncate_or_unguard_the_trail():
    """Found by the hardening review: TRUNCATE emptied the trail, because the application's role
    owned the table. The role db_app_role makes reads and writes the platform's rows, no more."""
    from django.db import DatabaseError, transaction

    call_command("db_app_role", role="dermrelay_test_app")
    event = audit_record(actor=None, action="login", outcome="denied")
    with connection.cursor() as cursor:
        cursor.execute("SET ROLE dermrelay_test_app")
        try:
            for refused in ("TRUNCATE audit_auditevent", "TRUNCATE audit_auditseal", "TRUNCATE reading_reportversion",
                            "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
                            "DROP TRIGGER audit_event_append_only ON audit_auditevent",
                            "DELETE FROM audit_auditevent", "UPDATE audit_auditevent SET action = 'x'",
                            "SET session_replication_role = replica"):
                with pytest.raises(DatabaseError, match="permission denied|must be owner|insufficient"), transaction.atomic():
                    cursor.execute(refused)
            audit_record(actor=None, action="view", object_type="case", object_id="by-the-app-role")  # it writes events
            assert audit_seal() == 2  # and seals them
            cursor.execute("UPDATE cases_case SET status = status WHERE false")  # and writes ordinary rows
        finally:
            cursor.execute("RESET ROLE")
    assert AuditEvent.objects.filter(pk=event.pk).exists() and audit_verify() == []
    call_command("db_app_role", role="dermrelay_test_app")  # again: idempotent
