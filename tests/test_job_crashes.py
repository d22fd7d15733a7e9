"""Jobs survive crashes (real Redis, real worker processes). Each time every job completes exactly
once within a bounded time: one success per job, one pyramid per image, nothing left half-made."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import pyvips
import redis
from django.conf import settings

from dermrelay.accounts.models import Role
from dermrelay.cases.models import ImageKind
from dermrelay.imaging.models import DerivationJob, Pyramid
from dermrelay.jobs.models import JobState
from tests.conftest import wait_for
from tests.factories import api_client, make_case, make_site, make_user, upload

pytestmark = [pytest.mark.redis, pytest.mark.worker]
RECOVERY_TIMEOUT = 120  # seconds: a bound, generous for a loaded 2-core machine, not a speed claim


@pytest.fixture(scope="module")
def big_mosaic() -> bytes:
    """An 8000x8000 JPEG mosaic: its derivation runs for seconds, long enough to be killed mid-way."""
    x = pyvips.Image.xyz(8000, 8000)
    image = ((x[0] * 0.05).sin() * 40 + (x[1] * 0.031).cos() * 40 + 120 + pyvips.Image.gaussnoise(8000, 8000, sigma=20))
    return image.cast("uchar").jpegsave_buffer(Q=85)


def _upload_mosaics(count: int, data: bytes) -> list[DerivationJob]:
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    ids = []
    for _ in range(count):
        response = upload(client, make_case(site=site, actor=tech), data, kind=ImageKind.RCM_MOSAIC, depth_level="dej")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return list(DerivationJob.objects.filter(image_id__in=ids))


def _running_job(jobs: list[DerivationJob]) -> DerivationJob:
    return wait_for(
        lambda: DerivationJob.objects.filter(pk__in=[j.pk for j in jobs], state=JobState.RUNNING).first(),
        interval=0.02, message="a job to be running",
    )


def _assert_each_completed_exactly_once(jobs: list[DerivationJob], media_root: Path) -> list[DerivationJob]:
    ids = [j.pk for j in jobs]
    wait_for(lambda: DerivationJob.objects.filter(pk__in=ids, state=JobState.SUCCEEDED).count() == len(ids),
             timeout=RECOVERY_TIMEOUT, message="every job to succeed")
    finished = list(DerivationJob.objects.filter(pk__in=ids).select_related("image"))
    for job in finished:
        pyramid = Pyramid.objects.get(image=job.image)
        image_dir = media_root / pyramid.prefix.rsplit("/", 1)[0]
        assert [p.name for p in image_dir.iterdir()] == [pyramid.prefix.rsplit("/", 1)[1]]  # one pyramid, no debris
        assert (media_root / pyramid.prefix / "f0000.dzi").is_file()
        assert job.image.status == "ready" and job.claim_token is None
    return finished


def test_sigkill_of_a_pool_child_mid_task(workers, worker_media_root, big_mosaic):
    workers.ensure_one()
    jobs = _upload_mosaics(3, big_mosaic)
    victim = _running_job(jobs)
    pid = int(victim.claimed_by.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)

    finished = _assert_each_completed_exactly_once(jobs, worker_media_root)
    attempts = {job.pk: job.attempts for job in finished}
    assert attempts[victim.pk] == 2  # the killed attempt, then one that completed
    assert all(n == 1 for pk, n in attempts.items() if pk != victim.pk)


def test_sigkill_of_the_whole_worker_then_a_new_one(workers, worker_media_root, big_mosaic):
    first = workers.ensure_one()
    jobs = _upload_mosaics(2, big_mosaic)
    victim = _running_job(jobs)
    workers.kill(first)  # main process, pool and beat: its unacknowledged messages stay in Redis
    assert DerivationJob.objects.get(pk=victim.pk).state == JobState.RUNNING

    workers.start()
    finished = _assert_each_completed_exactly_once(jobs, worker_media_root)
    assert max(job.attempts for job in finished) <= 2


def test_flushall_with_jobs_queued(workers, worker_media_root, big_mosaic):
    workers.stop_all()  # nobody consumes: the messages wait in Redis
    jobs = _upload_mosaics(3, big_mosaic[:])
    broker = redis.Redis.from_url(settings.REDIS_URL)
    assert broker.llen("ingest") == 3
    broker.flushall()  # as a Redis restart without persistence would
    assert broker.llen("ingest") == 0

    workers.start()  # its beat runs the reconciler, which sends the forgotten jobs again
    finished = _assert_each_completed_exactly_once(jobs, worker_media_root)
    assert all(job.attempts == 1 for job in finished)


def test_flushall_after_submission_loses_no_case(workers, worker_media_root):
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
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("status", flat=True)) == {CaseStatus.SUBMITTED}

    workers.start()
    wait_for(lambda: Case.objects.filter(pk__in=[c.pk for c in cases], status=CaseStatus.READY_FOR_READING).count() == 3,
             timeout=RECOVERY_TIMEOUT, message="every submitted case to move on")
