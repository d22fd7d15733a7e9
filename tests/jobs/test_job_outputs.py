"""What an attempt writes and never commits is removed: the fault runs found a first attempt's
outputs (`run-<id>-1`, overlay pyramids, a 4.6 MB derived pyramid) left for good after its process
lost the database or was killed. Outputs are announced before they are written (storage.output_intend,
folder_publish does it itself); completion and the reconciler's sweep settle them."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from dermrelay.imaging.models import DerivationJob
from dermrelay.jobs.models import JobOutput, JobState
from dermrelay.jobs.services import JobEffects, job_outputs_sweep, job_reset, job_run
from dermrelay.storage import folder_publish

pytestmark = pytest.mark.django_db


class ProcessDied(BaseException):
    """What SIGKILL does to the work, as far as the job runner can tell: it never comes back."""


def _writer(then: str):
    def work(job) -> JobEffects:
        folder = Path(tempfile.mkdtemp(dir=default_storage.path("")))
        (folder / "tile.png").write_bytes(b"pixels")
        folder_publish(folder, f"derived/test/{job.pk}/attempt-{job.attempts}")
        if then == "die":
            raise ProcessDied
        if then == "fail":
            raise RuntimeError("the model ran out of memory")
        return JobEffects(apply=lambda: None)
    return work


def _written(job, attempt: int) -> bool:
    return Path(default_storage.path(f"derived/test/{job.pk}/attempt-{attempt}/tile.png")).is_file()


def test_a_killed_attempts_outputs_go_when_a_later_attempt_succeeds(job, django_capture_on_commit_callbacks):
    with pytest.raises(ProcessDied):
        job_run(model=DerivationJob, job_id=job.pk, work=_writer("die"))
    assert _written(job, 1) and JobOutput.objects.filter(attempt=1).count() == 1
    DerivationJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(model=DerivationJob, job_id=job.pk, work=_writer("ok")) == JobState.SUCCEEDED
    assert not _written(job, 1) and _written(job, 2)  # the results stay, the killed attempt's go
    assert not JobOutput.objects.exists()


def test_a_failed_attempts_outputs_go_at_once(job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert job_run(model=DerivationJob, job_id=job.pk, work=_writer("fail")) == JobState.QUEUED
    assert not _written(job, 1) and not JobOutput.objects.exists()


def test_the_sweep_removes_a_dead_attempts_outputs_and_leaves_a_running_ones(job, django_capture_on_commit_callbacks):
    with pytest.raises(ProcessDied):
        job_run(model=DerivationJob, job_id=job.pk, work=_writer("die"))
    with django_capture_on_commit_callbacks(execute=True):
        assert job_outputs_sweep(older_than_seconds=0) == 0  # its job is still running that attempt
    assert _written(job, 1)

    DerivationJob.objects.filter(pk=job.pk).update(state=JobState.FAILED, lease_expires_at=None)  # gave up
    with django_capture_on_commit_callbacks(execute=True):
        assert job_outputs_sweep(older_than_seconds=0) == 1
    assert not _written(job, 1) and not JobOutput.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_work_that_lost_its_connection_before_writing_starts_again_and_costs_no_attempt(job):
    from django.db import OperationalError

    job_reset(job)  # its upload's derivation ran when the upload committed: queue it again
    calls = []

    def work(running) -> JobEffects:
        calls.append(running.attempts)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return _writer("ok")(running)

    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.SUCCEEDED
    job.refresh_from_db()
    assert (calls, job.attempts) == ([1, 1], 1) and _written(job, 1)


@pytest.mark.django_db(transaction=True)
def test_work_that_lost_its_connection_after_writing_is_a_failed_attempt_and_its_outputs_go(job):
    from django.db import OperationalError

    job_reset(job)

    def work(running) -> JobEffects:
        _writer("ok")(running)
        raise OperationalError("terminating connection due to administrator command")

    assert job_run(model=DerivationJob, job_id=job.pk, work=work) == JobState.QUEUED
    assert not _written(job, 1) and not JobOutput.objects.exists()


def test_a_lost_commit_callback_leaves_rows_the_sweep_finishes(job, django_capture_on_commit_callbacks):
    """The commit landed but its reply was lost: its on-commit removals never ran. The ledger rows
    are removed only after their files, so the sweep still finds and removes them."""
    with pytest.raises(ProcessDied):
        job_run(model=DerivationJob, job_id=job.pk, work=_writer("die"))
    DerivationJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False) as lost:  # as a commit whose reply never came
        assert job_run(model=DerivationJob, job_id=job.pk, work=_writer("ok")) == JobState.SUCCEEDED
    assert lost and _written(job, 1) and list(JobOutput.objects.values_list("attempt", flat=True)) == [1]
    with django_capture_on_commit_callbacks(execute=True):
        assert job_outputs_sweep(older_than_seconds=0) == 1
    assert not _written(job, 1) and _written(job, 2) and not JobOutput.objects.exists()


def test_a_replaced_pyramid_is_retired_through_the_ledger(job, django_capture_on_commit_callbacks):
    from dermrelay.jobs.services import job_output_retire

    old = Path(default_storage.path("derived/test/old-pyramid/tile.png"))
    old.parent.mkdir(parents=True)
    old.write_bytes(b"pixels")
    with django_capture_on_commit_callbacks(execute=False):  # the removal after the commit is lost
        job_output_retire(job=job, prefix="derived/test/old-pyramid")
    assert old.exists()
    DerivationJob.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert job_outputs_sweep(older_than_seconds=0) == 1
    assert not old.exists() and not JobOutput.objects.exists()
