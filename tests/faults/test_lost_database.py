"""Every database connection of the workers is cut (pg_terminate_backend, as a failover would)
while derivations run: the heartbeats and completions open new connections, so each job finishes
once, on its first attempt, with nothing left half-made."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dermrelay.imaging.models import DerivationJob
from dermrelay.jobs.models import JobState
from tests.conftest import wait_for

from .conftest import assert_each_completed_exactly_once, upload_mosaics

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def _cut_every_other_connection() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()) AS cut")
        return cursor.fetchone()[0]


def test_database_connections_cut_mid_derivation(workers, worker_media_root, big_mosaic, recovery):
    workers.ensure_one()
    jobs = upload_mosaics(3, big_mosaic)
    # A job running for half a second is past its first reads, deep in libvips (a loss before them
    # costs nothing either: the work starts again, tests/jobs/test_job_outputs.py).
    wait_for(lambda: DerivationJob.objects.filter(pk__in=[j.pk for j in jobs], state=JobState.RUNNING,
                                                  started_at__lt=timezone.now() - timedelta(seconds=0.5)).exists(),
             interval=0.02, message="a derivation running for half a second")
    assert _cut_every_other_connection() >= 1  # at least the running job's
    recovery.fault_injected("every worker database connection terminated mid-derivation")

    finished = assert_each_completed_exactly_once(jobs, worker_media_root)
    recovery.recovered()
    assert [job.attempts for job in finished] == [1] * len(finished), "\n\n".join(job.last_error for job in finished)
