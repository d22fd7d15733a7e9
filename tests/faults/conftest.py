"""The fault-injection suite (services: PostgreSQL, Redis, real worker processes, a real web server):
a fault is injected, then the test waits until every case is where it would have been without it,
and checks that each job completed once, nothing was left half-made and no request answered 500.
How long each recovery took is reported (`faults-<suite>.json` beside the suites' reports, and at
the end of the run): a figure to watch, never an assertion on speed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import pyvips

from dermrelay.accounts.models import Role
from dermrelay.cases.models import ImageKind
from dermrelay.imaging.models import DerivationJob, Pyramid
from dermrelay.jobs.models import JobOutput, JobState
from tests.conftest import REPO_DIR, wait_for
from tests.factories import api_client, make_case, make_site, make_user, upload

RECOVERY_TIMEOUT = 120  # seconds: a bound, generous for a loaded 2-core machine, not a speed claim
RECOVERIES: list[dict] = []


class RecoveryClock:
    """Started at the fault, stopped when the platform is back where it would have been."""

    def __init__(self, test: str):
        self.test, self.fault, self.started = test, "", 0.0

    def fault_injected(self, fault: str) -> None:
        self.fault, self.started = fault, time.monotonic()

    def recovered(self) -> float:
        seconds = round(time.monotonic() - self.started, 1)
        RECOVERIES.append({"test": self.test, "fault": self.fault, "recovery_seconds": seconds})
        return seconds


@pytest.fixture
def recovery(request) -> RecoveryClock:
    return RecoveryClock(request.node.name)


def pytest_sessionfinish(session, exitstatus):
    if not RECOVERIES:
        return
    from django.conf import settings

    suite = "services" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "embedded"
    report_dir = Path(os.environ.get("DERMRELAY_TEST_REPORT_DIR", REPO_DIR / "var" / "test-reports"))
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / f"faults-{suite}.json").write_text(json.dumps(RECOVERIES, indent=2))


def pytest_terminal_summary(terminalreporter):
    if RECOVERIES:
        terminalreporter.section("recovery after injected faults")
        for row in RECOVERIES:
            terminalreporter.write_line(f"{row['recovery_seconds']:7.1f} s  {row['fault']}  ({row['test']})")


@pytest.fixture(scope="session")
def big_mosaic() -> bytes:
    """An 8000x8000 JPEG mosaic: its derivation runs for seconds, long enough to be killed mid-way."""
    x = pyvips.Image.xyz(8000, 8000)
    image = ((x[0] * 0.05).sin() * 40 + (x[1] * 0.031).cos() * 40 + 120 + pyvips.Image.gaussnoise(8000, 8000, sigma=20))
    return image.cast("uchar").jpegsave_buffer(Q=85)


def upload_mosaics(count: int, data: bytes) -> list[DerivationJob]:
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    client = api_client(tech)
    ids = []
    for _ in range(count):
        response = upload(client, make_case(site=site, actor=tech), data, kind=ImageKind.RCM_MOSAIC, depth_level="dej")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return list(DerivationJob.objects.filter(image_id__in=ids))


def running_job(jobs: list[DerivationJob]) -> DerivationJob:
    return wait_for(
        lambda: DerivationJob.objects.filter(pk__in=[j.pk for j in jobs], state=JobState.RUNNING).first(),
        interval=0.02, message="a job to be running",
    )


def assert_each_completed_exactly_once(jobs: list[DerivationJob], media_root: Path) -> list[DerivationJob]:
    """Every job succeeded, each image has one pyramid and nothing beside it, no attempt's outputs
    are left in the ledger."""
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
    assert not JobOutput.objects.filter(job_id__in=[str(pk) for pk in ids]).exists()
    return finished
