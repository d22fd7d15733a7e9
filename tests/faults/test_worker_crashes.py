"""Jobs survive crashes of the workers and of the broker (real Redis, real worker processes). Each
time every job completes exactly once within a bounded time: one success per job, one pyramid per
image, nothing left half-made, and the recovery time is reported."""

from __future__ import annotations

import os
import signal

import pytest
import redis
from django.conf import settings

from dermrelay.accounts.models import Role
from dermrelay.cases.models import ImageKind
from dermrelay.imaging.models import DerivationJob
from dermrelay.jobs.models import JobState
from tests.conftest import wait_for
from tests.factories import api_client, make_case, make_site, make_user, upload

from .conftest import RECOVERY_TIMEOUT, assert_each_completed_exactly_once, running_job, upload_mosaics

pytestmark = [pytest.mark.redis, pytest.mark.worker]


def test_sigkill_of_a_pool_child_mid_task(workers, worker_media_root, big_mosaic, recovery):
    """The pool replaces the child, and the replacement stays: each new child loads and verifies the
    models before it reports for work, longer than Celery's default of 4 s on a busy machine (the
    fault runs saw 14 replacements killed in 90 s); CELERY_WORKER_PROC_ALIVE_TIMEOUT allows for it."""
    worker = workers.ensure_one()
    jobs = upload_mosaics(3, big_mosaic)
    victim = running_job(jobs)
    pid = int(victim.claimed_by.rsplit(":", 1)[1])
    before = set(worker.children())
    os.kill(pid, signal.SIGKILL)
    recovery.fault_injected("SIGKILL of the pool child running a derivation")

    finished = assert_each_completed_exactly_once(jobs, worker_media_root)
    recovery.recovered()
    attempts = {job.pk: job.attempts for job in finished}
    assert attempts[victim.pk] == 2  # the killed attempt, then one that completed
    assert all(n == 1 for pk, n in attempts.items() if pk != victim.pk)
    replacements = set(worker.children()) - before
    assert replacements, "the pool did not replace its killed child"
    assert "Timed out waiting for UP message" not in worker.log(), worker.log()[-3000:]
    assert worker.log().count("models loaded at process start") >= 3  # two children and the replacement


def test_sigkill_of_the_whole_worker_then_a_new_one(workers, worker_media_root, big_mosaic, recovery):
    first = workers.ensure_one()
    jobs = upload_mosaics(2, big_mosaic)
    victim = running_job(jobs)
    workers.kill(first)  # main process, pool and beat: its unacknowledged messages stay in Redis
    recovery.fault_injected("SIGKILL of the whole worker mid-derivation, then a new worker")
    assert DerivationJob.objects.get(pk=victim.pk).state == JobState.RUNNING

    workers.start()
    finished = assert_each_completed_exactly_once(jobs, worker_media_root)
    recovery.recovered()
    assert max(job.attempts for job in finished) <= 2


def test_flushall_with_jobs_queued(workers, worker_media_root, big_mosaic, recovery):
    workers.stop_all()  # nobody consumes: the messages wait in Redis
    jobs = upload_mosaics(3, big_mosaic[:])
    broker = redis.Redis.from_url(settings.REDIS_URL)
    assert broker.llen("ingest") == 3
    broker.flushall()  # as a Redis restart without persistence would
    recovery.fault_injected("broker emptied with derivations queued (after upload)")
    assert broker.llen("ingest") == 0

    workers.start()  # its beat runs the reconciler, which sends the forgotten jobs again
    finished = assert_each_completed_exactly_once(jobs, worker_media_root)
    recovery.recovered()
    assert all(job.attempts == 1 for job in finished)


def test_flushall_mid_derivation(workers, worker_media_root, big_mosaic, recovery):
    """The running job's unacknowledged message and the queued ones go with the broker's data: the
    running one finishes under its lease, the reconciler sends the others again; none runs twice."""
    workers.ensure_one()
    jobs = upload_mosaics(3, big_mosaic)
    running_job(jobs)
    redis.Redis.from_url(settings.REDIS_URL).flushall()
    recovery.fault_injected("broker emptied mid-derivation")

    finished = assert_each_completed_exactly_once(jobs, worker_media_root)
    recovery.recovered()
    assert all(job.attempts == 1 for job in finished)


def test_flushall_with_analyses_queued_runs_each_model_once(workers, worker_media_root, recovery):
    """Derivations done, the models' runs waiting in the inference queue when the broker is emptied:
    the reconciler sends them again, and each model runs once on each image."""
    from django.core.management import call_command

    from dermrelay.analysis.models import AnalysisRun
    from dermrelay.cases.models import Image, ImageStatus
    from tests.factories import png_bytes

    call_command("models_sync", verbosity=0)  # the shipped models are active: each ready image gets its runs
    workers.stop_all()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    cases = [make_case(site=site, actor=tech) for _ in range(2)]
    for case in cases:
        assert upload(client, case, png_bytes(), kind=ImageKind.DERMOSCOPY).status_code == 201
    workers.start(queues="default,ingest,control")  # derives, queues the analyses, runs none of them
    wait_for(lambda: Image.objects.filter(case__in=cases, status=ImageStatus.READY).count() == 2,
             timeout=RECOVERY_TIMEOUT, message="the images to be derived")
    runs = wait_for(lambda: list(AnalysisRun.objects.filter(image__case__in=cases)) or None,
                    timeout=RECOVERY_TIMEOUT, message="the analyses to be queued")
    broker = redis.Redis.from_url(settings.REDIS_URL)
    wait_for(lambda: broker.llen("inference") > 0, message="the analyses' messages to be in the broker")
    workers.stop_all()
    broker.flushall()
    recovery.fault_injected("broker emptied with model runs queued (analysis)")
    assert all(run.state == JobState.QUEUED for run in AnalysisRun.objects.filter(pk__in=[r.pk for r in runs]))

    workers.start()
    done = lambda: AnalysisRun.objects.filter(image__case__in=cases).exclude(state=JobState.SUCCEEDED).count() == 0  # noqa: E731
    wait_for(done, timeout=RECOVERY_TIMEOUT, message="every model run to succeed")
    recovery.recovered()
    all_runs = list(AnalysisRun.objects.filter(image__case__in=cases))
    assert all(run.attempts == 1 for run in all_runs)
    per_model = [(run.image_id, run.model_version_id) for run in all_runs]
    assert len(per_model) == len(set(per_model))  # one run per model per image


def test_flushall_after_submission_loses_no_case(workers, worker_media_root, recovery):
    """The message that moves a submitted case on is lost with the broker's data; the reconciler
    reads the cases' status and moves them on: none is left `submitted`."""
    from dermrelay.cases.models import Case, CaseStatus, Image, ImageStatus
    from tests.factories import png_bytes

    workers.ensure_one()
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    cases = [make_case(site=site, actor=tech) for _ in range(3)]
    for case in cases:
        assert upload(client, case, png_bytes(), kind=ImageKind.DERMOSCOPY).status_code == 201
    wait_for(lambda: Image.objects.filter(case__in=cases, status=ImageStatus.READY).count() == 3,
             timeout=RECOVERY_TIMEOUT, message="the images to be ready")
    workers.stop_all()  # nobody consumes: the submissions' messages wait in Redis
    for case in cases:
        assert client.post(f"/api/v1/cases/{case.id}/submit/").status_code == 200
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushall()
    recovery.fault_injected("broker emptied after three submissions")
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {CaseStatus.SUBMITTED}

    workers.start()
    wait_for(lambda: Case.objects.filter(pk__in=[c.pk for c in cases], status=CaseStatus.READY_FOR_READING).count() == 3,
             timeout=RECOVERY_TIMEOUT, message="every submitted case to move on")
    recovery.recovered()
