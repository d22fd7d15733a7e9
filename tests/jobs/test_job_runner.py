"""The reliable-job runner in-process: who may claim, attempts, failure with reason, lost claims."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from dermrelay.accounts.models import Role
from dermrelay.imaging.models import DerivationJob
from dermrelay.jobs.models import JobState
from dermrelay.jobs.services import HOSTNAME, JobEffects, job_run, jobs_reconcile
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self, fail_times: int = 0):
        self.calls, self.applied, self.discarded, self.fail_times = 0, 0, 0, fail_times

    def __call__(self, job) -> JobEffects:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise RuntimeError(f"decoder exploded (call {self.calls})")
        return JobEffects(apply=self._apply, discard=self._discard)

    def _apply(self):
        self.applied += 1

    def _discard(self):
        self.discarded += 1


def _set(job, **fields):
    DerivationJob.objects.filter(pk=job.pk).update(**fields)


def test_a_queued_job_runs_once_and_a_second_message_changes_nothing(job):
    work = Recorder()
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.SUCCEEDED
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) is None
    job.refresh_from_db()
    assert (work.calls, work.applied, job.state, job.attempts, job.claim_token) == (1, 1, "succeeded", 1, None)


def test_a_job_running_under_a_live_lease_is_left_alone(job):
    _set(job, state=JobState.RUNNING, attempts=1, claimed_by=f"{HOSTNAME}:{os.getpid()}",
         lease_expires_at=timezone.now() + timedelta(minutes=5))
    work = Recorder()
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) is None and work.calls == 0


def test_a_job_whose_claimant_process_died_is_taken_over_at_once(job):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _set(job, state=JobState.RUNNING, attempts=1, claimed_by=f"{HOSTNAME}:{dead.pid}",
         lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert job_run(model=DerivationJob, job_id=job.pk, work=Recorder()) == JobState.SUCCEEDED
    job.refresh_from_db()
    assert job.attempts == 2


def test_an_expired_lease_on_another_machine_is_taken_over(job):
    _set(job, state=JobState.RUNNING, attempts=1, claimed_by="other-host:12",
         lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert job_run(model=DerivationJob, job_id=job.pk, work=Recorder()) == JobState.SUCCEEDED


def test_failures_are_retried_then_the_job_fails_with_its_reason(job):
    work = Recorder(fail_times=5)
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.QUEUED
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 1) and "decoder exploded (call 1)" in job.last_error
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.QUEUED
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.FAILED
    job.refresh_from_db()
    assert (job.state, job.attempts, work.applied) == ("failed", 3, 0) and "call 3" in job.last_error
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) is None and work.calls == 3


def test_a_job_lost_too_often_is_failed_instead_of_looping(job):
    _set(job, state=JobState.RUNNING, attempts=3, claimed_by="other-host:1",
         lease_expires_at=timezone.now() - timedelta(seconds=1))
    work = Recorder()
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.FAILED
    job.refresh_from_db()
    assert work.calls == 0 and job.last_error.startswith("gave up after 3 attempts: the worker running it was lost")


def test_work_that_lost_its_claim_is_discarded_not_applied(job, django_capture_on_commit_callbacks):
    work = Recorder()

    def taken_over_meanwhile(current):
        _set(current, claim_token=None, claimed_by="other-host:2")  # another worker took the job over
        return work(current)

    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(model=DerivationJob, job_id=job.pk, work=taken_over_meanwhile) is None
    assert (work.applied, work.discarded) == (0, 1)


def test_reconciler_sends_expired_and_forgotten_jobs_and_leaves_the_rest(job, settings):
    settings.DERMRELAY_JOB_REQUEUE_SECONDS = 60
    others = [DerivationJob.objects.create(image=_new_image()) for _ in range(3)]
    long_ago = timezone.now() - timedelta(minutes=5)
    _set(job, state=JobState.RUNNING, attempts=1, claimed_by="gone:1", lease_expires_at=long_ago)  # expired
    _set(others[0], state=JobState.QUEUED, enqueued_at=long_ago)  # its message was lost
    _set(others[1], state=JobState.QUEUED, enqueued_at=timezone.now())  # just sent: leave it
    _set(others[2], state=JobState.SUCCEEDED)
    assert jobs_reconcile(models=[DerivationJob]) == 2  # eager here: the two run at once
    states = dict(DerivationJob.objects.values_list("pk", "state"))
    assert states[job.pk] == states[others[0].pk] == "succeeded"
    assert states[others[1].pk] == "queued" and states[others[2].pk] == "succeeded"


def _new_image():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    response = upload(api_client(tech), make_case(site=site, actor=tech), png_bytes(32, 32))
    from dermrelay.cases.models import Image

    image = Image.objects.get(pk=response.json()["id"])
    DerivationJob.objects.filter(image=image).delete()
    return image


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_neither_stops_the_lease_nor_loses_finished_work(job, settings):
    """Found by the fault runs: after pg_terminate_backend the heartbeat thread died at its first
    error and the finished work failed to commit, so the job ran again once its lease ran out. Here
    the database drops the heartbeat's connection and then the worker's own, mid-job."""
    from django.db import OperationalError, connection

    from tests.conftest import wait_for

    from dermrelay.jobs.services import job_reset

    settings.DERMRELAY_JOB_LEASE_SECONDS = 3
    job_reset(job)  # the upload's own derivation ran when its transaction committed: queue it again

    def lease() -> object:
        return DerivationJob.objects.filter(pk=job.pk).values_list("lease_expires_at", flat=True).get()

    class Work(Recorder):
        def __call__(self, running):
            claimed = lease()
            wait_for(lambda: lease() > claimed, timeout=60, message="the heartbeat's first beat")
            with connection.cursor() as cursor:  # the heartbeat's connection: its last query set the lease
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid() AND query LIKE %s", ["%lease_expires_at%"])
                assert cursor.fetchone()[0] is True
            dropped = lease()
            wait_for(lambda: lease() > dropped, timeout=60, message="a beat on a new connection")
            try:
                with connection.cursor() as cursor:  # and then this worker's own connection
                    cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            except OperationalError:
                pass
            return super().__call__(running)

    work = Work()
    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.SUCCEEDED
    job.refresh_from_db()
    assert (work.calls, work.applied, work.discarded, job.state, job.attempts) == (1, 1, 0, "succeeded", 1)


def test_an_expired_lease_is_sent_once_not_on_every_pass(job, settings, monkeypatch):
    """The fault runs saw one duplicate message per reconciler pass while a job whose lease expired
    waited its turn in a busy queue: one message per expiry (and per requeue window) is enough."""
    from dermrelay.jobs import services

    settings.DERMRELAY_JOB_REQUEUE_SECONDS = 60
    sent = []
    monkeypatch.setattr(services, "job_send", lambda found: (sent.append(found.pk), _set(found, enqueued_at=timezone.now())))
    _set(job, state=JobState.RUNNING, attempts=1, claimed_by="gone:1", enqueued_at=timezone.now() - timedelta(minutes=3),
         lease_expires_at=timezone.now() - timedelta(minutes=1))
    assert [jobs_reconcile(models=[DerivationJob]) for _ in range(3)] == [1, 0, 0]
    _set(job, enqueued_at=timezone.now() - timedelta(minutes=2))  # that message too was lost, long ago
    assert jobs_reconcile(models=[DerivationJob]) == 1 and sent == [job.pk, job.pk]
