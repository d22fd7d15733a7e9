"""Shared fixtures. Two suites run from the same tests (see Makefile `test`):

- embedded: SQLite file database, kombu's file-system broker;
- services: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL), run by CI.

Tests marked `postgres` need PostgreSQL; tests marked `worker` start a real Celery worker process.
With DERMRELAY_REQUIRE_SERVICES=1 (CI's services suite), a marked test that cannot run FAILS instead
of skipping, and a summary of what ran is written for .ci/run to check.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

REPO_DIR = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("DERMRELAY_REQUIRE_SERVICES") == "1"
IN_CI = os.environ.get("CI") == "true"
CHROMIUM = Path(os.environ.get("DERMRELAY_CHROMIUM", "/usr/bin/chromium"))
_outcomes: dict[str, dict[str, int]] = {}


def _flush_with_guarded_rows_unlocked():
    """Transactional tests end with a flush of every table; on SQLite that is DELETE FROM, which the
    audit trail's and signed reports' triggers refuse (dermrelay/audit/row_guard.py). The flush
    alone may pass them; every statement a test makes still meets the triggers."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    from dermrelay.audit.row_guard import rows_unlocked

    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with rows_unlocked():
            return flush(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush


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
    if item.get_closest_marker("redis") and not _uses_redis():
        missing.append("Redis (set REDIS_URL)")
    return missing


def _missing_browser(item) -> list[str]:
    """What a browser test lacks. Both suites run the browser tests, so in CI any lack is a failure."""
    missing = []
    if item.get_closest_marker("browser"):
        if not CHROMIUM.is_file():
            missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
        if not (django_settings.FRONTEND_DIST / "index.html").is_file():
            missing.append("the built browser app (make frontend)")
    return missing


def pytest_configure(config):
    _retry_teardown_flush_on_deadlock()
    _flush_with_guarded_rows_unlocked()


def _retry_teardown_flush_on_deadlock() -> None:
    """A test on the transactional database ends with a flush (one TRUNCATE of every table). The
    real worker outlives the test, and its reconciler, reading the job tables every second, can hold
    a lock that TRUNCATE needs while waiting for one TRUNCATE took: PostgreSQL then aborts one of
    the two, and when it picks the flush the test errors at teardown (seen in CI)."""
    from django.test import TransactionTestCase

    TransactionTestCase._fixture_teardown = retrying_deadlocked_flush(TransactionTestCase._fixture_teardown)


def retrying_deadlocked_flush(teardown, attempts: int = 5):
    """`teardown` tried again when its flush was the victim of a deadlock: the flush runs in one
    transaction, so a deadlocked one left nothing half-done. Any other error is raised at once."""
    from django.core.management.base import CommandError
    from django.db import OperationalError

    def retried(*args, **kwargs):
        for attempt in range(attempts):
            try:
                return teardown(*args, **kwargs)
            except CommandError as error:
                deadlock = isinstance(error.__cause__, OperationalError) and "deadlock detected" in str(error.__cause__)
                if not deadlock or attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    return retried


def pytest_runtest_setup(item):
    services, browser = _missing_services(item), _missing_browser(item)
    missing = services + browser
    if (services and REQUIRE_SERVICES) or (browser and IN_CI):  # a suite CI must run could not run: a failure
        pytest.fail("required service missing: needs " + " and ".join(missing), pytrace=False)
    if missing:
        pytest.skip("needs " + " and ".join(missing))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        for marker in ("postgres", "worker", "redis", "browser"):
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


# The session's pool of real workers, once a test has started it (worker_pool).
STARTED_POOLS: list["WorkerPool"] = []


@pytest.fixture(autouse=True)
def celery_eager(request):
    """Unit and API tests run tasks in-process when their transaction commits; `live_worker` turns it off.
    A test without `workers` runs with none alive: a worker left from an earlier test shares the
    test database, and its reconciler (every second) would send this test's fresh jobs to itself,
    run them on another media folder and leave them queued for a retry."""
    from dermrelay.celery import app

    if "workers" not in request.fixturenames:
        for pool in STARTED_POOLS:
            pool.stop_all()
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


@pytest.fixture(scope="session")
def worker_media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-media")


# Test workers run with short leases and a reconciler every second, so crash recovery is seen
# within seconds; production defaults are longer (settings.py).
WORKER_TIMINGS = {
    "DERMRELAY_JOB_LEASE_SECONDS": "6",
    "DERMRELAY_JOB_REQUEUE_SECONDS": "4",
    "DERMRELAY_RECONCILE_SECONDS": "1",
    "DERMRELAY_BROKER_VISIBILITY_SECONDS": "5",
}


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path):
        self.process, self.log_path = process, log_path

    def children(self) -> list[int]:
        """Pids whose parent is the worker's main process (pool children and embedded beat)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class WorkerPool:
    """Real `celery worker` processes (with embedded beat) on the test database and this suite's broker."""

    def __init__(self, media_root: Path, tmp_dir: Path):
        self.media_root, self.tmp_dir, self.workers, self.count = media_root, tmp_dir, [], 0

    def env(self) -> dict[str, str]:
        """The environment of a process on the test database, broker and media folder (workers, a web server)."""
        db = django_settings.DATABASES["default"]
        if _is_postgres():
            auth = db["USER"] or ""
            if db.get("PASSWORD"):
                auth += f":{db['PASSWORD']}"
            database_url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        else:
            database_url = f"sqlite:///{db['NAME']}"
        return {
            **os.environ, **WORKER_TIMINGS,
            "DATABASE_URL": database_url,
            "DERMRELAY_MEDIA_ROOT": str(self.media_root),
            "DERMRELAY_VAR_DIR": str(django_settings.VAR_DIR),
            "PYTHONPATH": str(REPO_DIR / "platform"),
        }

    def start(self, *, queues: str = "default,ingest,inference,control") -> Worker:
        self.count += 1
        log_path = self.tmp_dir / f"worker-{self.count}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dermrelay", "worker", "-B", "-Q", queues, "-c", "2",
             "-l", "info", "-n", f"pytest-{os.getpid()}-{self.count}@%h",
             "--schedule", str(self.tmp_dir / f"beat-{self.count}")],
            cwd=REPO_DIR, env=self.env(), stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg takes main, pool and beat at once
        )
        worker = Worker(process, log_path)
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.fail(f"Celery worker did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)
        self.workers.append(worker)
        return worker

    def kill(self, worker: Worker) -> None:
        """SIGKILL the whole worker: main process, pool children and beat, with no chance to clean up."""
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=30)
        self.workers.remove(worker)

    def stop_all(self) -> None:
        for worker in list(self.workers):
            worker.process.terminate()
            try:
                worker.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)
            self.workers.remove(worker)

    def ensure_one(self) -> Worker:
        """A running worker: one that died (its log says why) is dropped and replaced, so one crash
        fails one test, not every later one."""
        for worker in list(self.workers):
            if worker.process.poll() is not None:
                print(f"worker exited with {worker.process.returncode}; its log ends:\n{worker.log()[-2000:]}")
                self.workers.remove(worker)
        return self.workers[0] if self.workers else self.start()


@pytest.fixture(scope="session")
def worker_pool(django_db_setup, worker_media_root, tmp_path_factory):
    if _uses_redis():
        import redis

        redis.Redis.from_url(django_settings.REDIS_URL).flushdb()
    pool = WorkerPool(worker_media_root, tmp_path_factory.mktemp("workers"))
    STARTED_POOLS.append(pool)
    yield pool
    pool.stop_all()


@pytest.fixture
def workers(worker_pool, transactional_db, settings, worker_media_root, celery_eager):
    """The pool of real workers for this test; tasks go through the broker, files to the shared media."""
    settings.MEDIA_ROOT = worker_media_root
    celery_eager.conf.task_always_eager = False
    return worker_pool


@pytest.fixture
def live_worker(workers):
    """One running worker sharing this test's database and media folder."""
    return workers.ensure_one()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; a bounded wait, never an assertion on speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture(autouse=True)
def answers_match_the_schema(monkeypatch):
    """Every successful JSON answer any test gets through the API client is checked against the
    published OpenAPI schema, key for key (tests/openapi_contract.py): the browser app's generated
    types hold for everything the suite exercises, not only for tests/test_response_contract.py."""
    from rest_framework.test import APIClient

    from tests.openapi_contract import check_answer

    original = APIClient.request

    def checked(self, **request):
        response = original(self, **request)
        check_answer(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response

    monkeypatch.setattr(APIClient, "request", checked)
