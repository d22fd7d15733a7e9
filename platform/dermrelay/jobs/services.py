"""Running reliable jobs: claim under a row lock, keep a lease alive, complete exactly once.

- A message only carries the job id and is sent after the enqueuing transaction commits.
- Claiming locks the row: a finished job is a no-op; a job running under a live lease is left
  alone (the message is a duplicate); a job whose lease expired, or whose claimant process on this
  host is gone (a SIGKILLed pool child), is taken over at once. Each claim counts an attempt; past
  `max_attempts` the job fails with its reason instead of looping.
- A heartbeat thread extends the lease while the work runs, so long jobs are not taken over.
- Completion re-checks the claim token under the lock: a zombie that lost its claim cannot
  complete the job a second time, and the job's own database effects commit with its success.
- Outputs are announced before they are written (storage.output_intend) into a ledger (JobOutput):
  completion drops the rows of the attempt that succeeded and removes the files of every other
  attempt (a killed one, one that failed, one whose claim was lost), and the reconciler's sweep
  removes those of an attempt whose process died when no later attempt came. A row goes only after
  its files, so removals lost with a commit's reply (on-commit callbacks that never ran) are found
  by the sweep too; so is a pyramid a new derivation replaced (job_output_retire).
- A lost database connection (a failover, pg_terminate_backend) costs neither: the heartbeat opens a
  new one at its next beat; the ledger's writes and completion are tried again on a new connection,
  so finished work is recorded instead of running a second time once the lease runs out; work that
  lost its connection before writing anything is simply started again (no attempt counted).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dermrelay.storage import output_listener, prefix_delete

from .models import FINISHED_STATES, Job, JobOutput, JobState

logger = logging.getLogger(__name__)
HOSTNAME = socket.gethostname()
T = TypeVar("T")

@dataclass(frozen=True)
class JobEffects:
    """What finished work leaves: `apply` writes its database effects in the transaction that marks
    the job succeeded; `discard` removes its outputs when the claim was lost meanwhile."""

    apply: Callable[[], None]
    discard: Callable[[], None] = lambda: None


Work = Callable[[Job], JobEffects | None]


class PermanentJobError(Exception):
    """Raised by work that cannot succeed on a retry (a missing model, an input lacking what the work
    needs): the job fails at once with this message as its visible reason."""


def lease_seconds() -> int:
    return settings.DERMRELAY_JOB_LEASE_SECONDS


def job_send(job: Job, *, countdown: float = 0) -> None:
    """Send the message for a job now (outside any transaction that created it)."""
    from dermrelay.celery import app

    type(job).objects.filter(pk=job.pk).update(enqueued_at=timezone.now())
    app.tasks[job.task_name].apply_async(args=[str(job.pk)], queue=job.queue, countdown=countdown or None)


def job_reset(job: Job) -> Job:
    """Make a finished job runnable again with fresh attempts (an admin re-run)."""
    type(job).objects.filter(pk=job.pk).update(
        state=JobState.QUEUED, attempts=0, last_error="", claim_token=None, lease_expires_at=None, finished_at=None
    )
    job.refresh_from_db()
    return job


def job_enqueue(job: Job) -> Job:
    """Queue a saved job: its message goes out once the current transaction commits."""
    transaction.on_commit(lambda: job_send(job))
    return job


def _claimant_is_dead(claimed_by: str) -> bool:
    host, _, pid = claimed_by.rpartition(":")
    if host != HOSTNAME or not pid.isdigit():
        return False  # another machine: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class Claim:
    job: Job
    token: uuid.UUID


def _claim(model: type[Job], job_id) -> Claim | str | None:
    """A claim to run the job, or the state it just failed in (attempts used up), or None."""
    now = timezone.now()
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in FINISHED_STATES:
            return None
        if job.state == JobState.RUNNING and job.lease_expires_at and job.lease_expires_at > now:
            if not _claimant_is_dead(job.claimed_by):
                return None  # a duplicate message while the job is alive elsewhere
        if job.attempts >= job.max_attempts:
            reason = job.last_error or "the worker running it was lost"
            _finish(job, JobState.FAILED, error=f"gave up after {job.attempts} attempts: {reason}")
            return JobState.FAILED
        token = uuid.uuid4()
        job.state = JobState.RUNNING
        job.attempts += 1
        job.claim_token = token
        job.claimed_by = f"{HOSTNAME}:{os.getpid()}"
        job.started_at = now
        job.lease_expires_at = now + timedelta(seconds=lease_seconds())
        job.save(update_fields=["state", "attempts", "claim_token", "claimed_by", "started_at", "lease_expires_at"])
        return Claim(job=job, token=token)


def _finish(job: Job, state: str, *, error: str = "") -> None:
    job.state = state
    job.finished_at = timezone.now()
    job.lease_expires_at = None
    job.claim_token = None
    fields = ["state", "finished_at", "lease_expires_at", "claim_token"]
    if error:
        job.last_error = error[-4000:]
        fields.append("last_error")
    job.save(update_fields=fields)


class _Heartbeat(threading.Thread):
    """Extends the lease every third of its length while the work runs."""

    def __init__(self, model: type[Job], claim: Claim):
        super().__init__(daemon=True, name=f"lease-{claim.job.pk}")
        self.model, self.claim, self.stopped = model, claim, threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(lease_seconds() / 3):
                try:
                    self.model.objects.filter(pk=self.claim.job.pk, claim_token=self.claim.token).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds())
                    )
                except DatabaseError as exc:  # a lost connection: the next beat opens a new one
                    logger.warning("lease of %s %s not extended (%s); trying again", self.model.__name__,
                                   self.claim.job.pk, exc)
                    connection.close()
        finally:
            connection.close()


COMPLETION_TRIES = 4


def _on_a_live_connection(step: Callable[[], T]) -> T:
    """Run a step that is one transaction (or one statement), again on a new connection when the
    database connection was lost: a lost try left nothing half-done. Inside a transaction the loss
    is the transaction's to handle, so it is raised at once."""
    for attempt in range(1, COMPLETION_TRIES + 1):
        try:
            return step()
        except (OperationalError, InterfaceError) as exc:
            if attempt == COMPLETION_TRIES or connection.in_atomic_block:
                raise
            logger.warning("a job's database step lost its connection (%s); try %d", exc, attempt + 1)
            connection.close()
            time.sleep(0.2 * attempt)  # a failover takes a moment; the lease is far longer
    raise AssertionError("unreachable")


def job_run(*, model: type[Job], job_id, work: Work) -> str | None:
    """Run one job if it is claimable; returns the state it ended in, or None if it was not ours."""
    claim = _claim(model, job_id)  # Celery's Django fixup already recycles stale connections per task
    if not isinstance(claim, Claim):
        return claim
    heartbeat = _Heartbeat(model, claim)
    heartbeat.start()
    permanent = False
    ledger = _Ledger(model, job_id, claim.job.attempts)
    listening = output_listener.set(ledger)
    try:
        effects = _work_on_a_live_connection(work, claim.job, ledger)
        error = None
    except PermanentJobError as exc:
        error, permanent = str(exc), True
        logger.warning("job %s %s failed for good: %s", model.__name__, job_id, exc)
    except Exception:  # the job records every failure; the worker goes on
        error = traceback.format_exc()
        logger.warning("job %s %s failed (attempt %s):\n%s", model.__name__, job_id, claim.job.attempts, error)
    finally:
        output_listener.reset(listening)
        heartbeat.stopped.set()
        heartbeat.join()
    return _on_a_live_connection(lambda: _complete(model, job_id, claim, effects if error is None else None,
                                                   error, permanent))


class _Ledger:
    """Records, for one attempt, each output prefix before it is written (storage.output_listener)."""

    def __init__(self, model: type[Job], job_id, attempt: int):
        self.label, self.job_id, self.attempt, self.recorded = model._meta.label_lower, str(job_id), attempt, 0

    def __call__(self, prefix: str) -> None:  # mid-work, on the work's connection: a lost one must not cost the work
        _on_a_live_connection(lambda: JobOutput.objects.create(job_label=self.label, job_id=self.job_id,
                                                               attempt=self.attempt, prefix=prefix))
        self.recorded += 1


def _work_on_a_live_connection(work: Work, job: Job, ledger: _Ledger) -> JobEffects | None:
    """The work, again on a new connection when its connection was lost before it wrote anything
    (its first reads, right after the claim): nothing to undo, so it costs no attempt."""
    for attempt in range(1, COMPLETION_TRIES + 1):
        try:
            return work(job)
        except (OperationalError, InterfaceError) as exc:
            if ledger.recorded or attempt == COMPLETION_TRIES or connection.in_atomic_block:
                raise
            logger.warning("a job's work lost its database connection before writing (%s); try %d", exc, attempt + 1)
            connection.close()
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _outputs_remove(rows: list[tuple[int, str]]) -> None:
    """The files first, then the ledger rows: should this be cut short, the rows left make the
    reconciler's sweep finish it."""
    for pk, prefix in rows:
        prefix_delete(prefix)
        JobOutput.objects.filter(pk=pk).delete()


def _outputs_settle(model: type[Job], job_id, attempt: int, *, succeeded: bool) -> None:
    """In the completing transaction: a succeeding attempt's own rows go (its files are its results
    now); the files of every other attempt recorded so far go once it commits, then their rows."""
    rows = JobOutput.objects.filter(job_label=model._meta.label_lower, job_id=str(job_id), attempt__lte=attempt)
    if succeeded:
        rows.filter(attempt=attempt).delete()
        rows = rows.exclude(attempt=attempt)
    stale = list(rows.values_list("pk", "prefix"))
    if stale:
        transaction.on_commit(lambda: _outputs_remove(stale))


def job_output_retire(*, job: Job, prefix: str) -> None:
    """In the transaction of a job's success: a prefix that success makes obsolete (the pyramid a
    new derivation replaces) is removed once it commits, and by the reconciler's sweep should that
    moment be lost (a commit that landed while its reply did not)."""
    row = JobOutput.objects.create(job_label=type(job)._meta.label_lower, job_id=str(job.pk), attempt=0, prefix=prefix)
    transaction.on_commit(lambda: _outputs_remove([(row.pk, prefix)]))


def _complete(model: type[Job], job_id, claim: Claim, effects: JobEffects | None, error: str | None,
              permanent: bool) -> str | None:
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id, claim_token=claim.token).first()
        if job is None:
            finished = model.objects.filter(pk=job_id).only("state", "attempts").first()
            if finished and finished.state == JobState.SUCCEEDED and finished.attempts == claim.job.attempts:
                return JobState.SUCCEEDED  # our own completion committed before the connection was lost
            if error is None and effects is not None:  # the claim was lost (lease expired, taken over)
                transaction.on_commit(effects.discard)
            _outputs_settle(model, job_id, claim.job.attempts, succeeded=False)
            return None
        if error is None:
            if effects is not None:
                effects.apply()
            _finish(job, JobState.SUCCEEDED)
            _outputs_settle(model, job_id, claim.job.attempts, succeeded=True)
            return JobState.SUCCEEDED
        _outputs_settle(model, job_id, claim.job.attempts, succeeded=False)
        if permanent or job.attempts >= job.max_attempts:
            _finish(job, JobState.FAILED, error=error)
            return JobState.FAILED
        job.state, job.last_error, job.claim_token, job.lease_expires_at = JobState.QUEUED, error[-4000:], None, None
        job.save(update_fields=["state", "last_error", "claim_token", "lease_expires_at"])
        transaction.on_commit(lambda: job_send(job, countdown=2 ** job.attempts))
        return JobState.QUEUED


def jobs_reconcile(*, models: list[type[Job]]) -> int:
    """Send again every job the broker may have lost; returns how many. Safe to run at any time:
    a duplicate message finds the job claimed or finished and does nothing."""
    now = timezone.now()
    stale_queue = now - timedelta(seconds=settings.DERMRELAY_JOB_REQUEUE_SECONDS)
    sent = 0
    for model in models:
        # One message per expired lease (and one more per requeue window, should that one be lost),
        # not one per pass while the job waits its turn in a busy queue.
        unsent_since_expiry = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=F("lease_expires_at")) | \
            Q(enqueued_at__lt=stale_queue)
        expired = Q(state=JobState.RUNNING, lease_expires_at__lt=now) & unsent_since_expiry
        forgotten = Q(state=JobState.QUEUED) & (Q(enqueued_at__lt=stale_queue) | Q(enqueued_at__isnull=True))
        for job in model.objects.filter(expired | forgotten).order_by("created_at")[:500]:
            logger.info("reconciler: sending %s %s again (state %s)", model.__name__, job.pk, job.state)
            job_send(job)
            sent += 1
    return sent


def job_outputs_sweep(*, older_than_seconds: float) -> int:
    """Remove what attempts left that no completion settled: their process died and no later attempt
    succeeded (the job failed for good, or is gone). An attempt still running keeps its outputs;
    returns how many prefixes were removed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    removed = 0
    for row in JobOutput.objects.filter(created_at__lt=cutoff).order_by("created_at")[:500]:
        job = apps.get_model(row.job_label).objects.filter(pk=row.job_id).only("state", "attempts").first()
        if job is not None and job.attempts == row.attempt and job.state == JobState.RUNNING:
            continue  # still at work (or its lease will expire and a new attempt settle it)
        if job is not None and job.attempts == row.attempt and job.state == JobState.SUCCEEDED:
            JobOutput.objects.filter(pk=row.pk).delete()  # the job's results: only the row goes
            continue
        _outputs_remove([(row.pk, row.prefix)])
        removed += 1
    return removed

