"""Shared fixtures. Two suites run from the same tests (see Makefile `test`):

- embedded: SQLite file database, kombu's file-system broker;
- services: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), run by CI.

Tests marked `postgres` need PostgreSQL; tests marked `worker` start a real Celery worker process.
With DERMRELAY_REQUIRE_SERVICES=1 (CI's services suite), a marked test that cannot run FAILS instead
of skipping, and a summary of what ran is written for .ci/run to check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

REPO_DIR = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("DERMRELAY_REQUIRE_SERVICES") == "1"
_outcomes: dict[str, dict[str, int]] = {}


def _is_postgres() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _uses_redis() -> bool:
    return django_settings.CELERY_BROKER_URL.startswith("redis")


def _missing_services(item) -> list[str]:
    missing = []
    if item.get_closest_marker("postgres") and not _is_postgres():
        missing.append("PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("worker") and REQUIRE_SERVICES and not _uses_redis():
        missing.append("Redis (set REDIS_URL)")
    return missing


def pytest_runtest_setup(item):
    missing = _missing_services(item)
    if missing and REQUIRE_SERVICES:  # a suite CI must run could not run: that is a failure
        pytest.fail("required service missing: needs " + " and ".join(missing), pytrace=False)
    if missing:
        pytest.skip("needs " + " and ".join(missing))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        for marker in ("postgres", "worker"):
            if item.get_closest_marker(marker):
                counts = _outcomes.setdefault(marker, {"passed": 0, "failed": 0, "skipped": 0})
                counts[report.outcome] += 1


def pytest_sessionfinish(session, exitstatus):
    report_dir = Path(os.environ.get("DERMRELAY_TEST_REPORT_DIR", REPO_DIR / "var" / "test-reports"))
    report_dir.mkdir(parents=True, exist_ok=True)
    suite = "services" if _is_postgres() else "embedded"
    summary = {
        "suite": suite,
        "database": django_settings.DATABASES["default"]["ENGINE"],
        "broker": django_settings.CELERY_BROKER_URL.split("://")[0],
        "marked": _outcomes,
        "exitstatus": int(exitstatus),
    }
    (report_dir / f"{suite}.json").write_text(json.dumps(summary, indent=2))


@pytest.fixture(autouse=True)
def isolated_files(settings, tmp_path):
    """Each test stores files in its own folder, so it can assert exactly what was (not) stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "staging")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture(autouse=True)
def celery_eager():
    """Unit and API tests run tasks in-process when their transaction commits; `live_worker` turns it off."""
    from dermrelay.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


@pytest.fixture(scope="session")
def worker_media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-media")


@pytest.fixture(scope="session")
def _worker_process(django_db_setup, django_db_blocker, worker_media_root, tmp_path_factory):
    """One real `celery worker` process for the session, on the test database and this suite's broker."""
    from dermrelay.celery import app

    db = django_settings.DATABASES["default"]
    if _is_postgres():
        database_url = f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        if db.get("PASSWORD"):
            database_url = database_url.replace("@", f":{db['PASSWORD']}@", 1)
    else:
        database_url = f"sqlite:///{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DERMRELAY_MEDIA_ROOT": str(worker_media_root),
        "DERMRELAY_VAR_DIR": str(django_settings.VAR_DIR),
        "PYTHONPATH": str(REPO_DIR / "platform"),
    }
    if _uses_redis():
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    log_path = tmp_path_factory.mktemp("worker-log") / "worker.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dermrelay", "worker", "-Q", "default,ingest", "-c", "2",
         "-l", "info", "-n", f"pytest-{os.getpid()}@%h"],
        cwd=REPO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield process, log_path
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def live_worker(_worker_process, transactional_db, settings, worker_media_root, celery_eager):
    """A real worker process sharing this test's database and media folder; tasks go through the broker."""
    settings.MEDIA_ROOT = worker_media_root
    celery_eager.conf.task_always_eager = False
    return _worker_process


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; a bounded wait, never an assertion on speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
