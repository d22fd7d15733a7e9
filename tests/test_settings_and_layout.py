"""The project's shape and its two configurations, checked from fresh processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
PRODUCTION_ENV = {
    "DERMRELAY_ENV": "production",
    "SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-and-varied-0123456789",
    "DATABASE_URL": "postgres://dermrelay@db.internal:5432/dermrelay",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "dermrelay.example.org",
}


def _run(args: list[str], env: dict[str, str], cwd: Path = REPO_DIR) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DERMRELAY_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_"))}
    return subprocess.run(args, cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_platform_folder_does_not_shadow_the_standard_library(tmp_path):
    assert not (REPO_DIR / "platform" / "__init__.py").exists()
    code = "import platform, sys; sys.path.insert(0, 'platform'); import uuid; print(platform.system(), platform.__file__)"
    result = _run([sys.executable, "-c", code], {"DERMRELAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    system, location = result.stdout.split()
    assert system == "Linux" and location.startswith(sysconfig.get_paths()["stdlib"])


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**PRODUCTION_ENV, "DERMRELAY_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    for missing in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = _run([sys.executable, "manage.py", "check"], {**env, "DERMRELAY_VAR_DIR": str(tmp_path)})
        assert result.returncode != 0
        assert f"{missing} must be set" in result.stderr


def test_embedded_default_needs_no_configuration(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
        "'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG, 'media': str(s.MEDIA_ROOT), 'key': len(s.SECRET_KEY)}))"
    )
    env = {"DERMRELAY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dermrelay.settings", "PYTHONPATH": "platform"}
    first = json.loads(_run([sys.executable, "-c", code], env).stdout)
    assert first["db"] == "django.db.backends.sqlite3" and first["name"].startswith(str(tmp_path))
    assert first["broker"] == "dermrelayfs://"
    assert first["debug"] is False  # no debug page for whoever reaches the port; DEBUG=1 opts in
    assert first["media"] == str(tmp_path / "media") and first["key"] >= 50
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode)[-3:] == "600"
    second = json.loads(_run([sys.executable, "-c", code], env).stdout)
    assert second == first  # the generated secret is kept, so sessions survive a restart


def test_debug_is_a_developers_opt_in(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG)"
    env = {"DERMRELAY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dermrelay.settings", "PYTHONPATH": "platform"}
    assert _run([sys.executable, "-c", code], {**env, "DEBUG": "1"}).stdout.strip() == "True"
    assert _run([sys.executable, "-c", code], {**env, "DEBUG": "yes please"}).stdout.strip() == "False"


def test_production_checks_a_kept_connection_before_reusing_it(tmp_path):
    """Connections are kept between requests in production; one the database dropped (a failover,
    pg_terminate_backend) must be replaced, not answer 500 (found by the fault runs: 16 of them)."""
    code = ("import django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']; "
            "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])")
    result = _run([sys.executable, "-c", code], {**PRODUCTION_ENV, "DERMRELAY_VAR_DIR": str(tmp_path),
                                                "DJANGO_SETTINGS_MODULE": "dermrelay.settings", "PYTHONPATH": "platform"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["60", "True"]


def test_beats_own_work_has_a_queue_and_a_worker_no_model_run_shares():
    """The fault runs saw the reconciler's passes wait behind 20 s inference runs on `default`."""
    from django.conf import settings

    from dermrelay.celery import app

    def queue_of(task: str) -> str:
        return app.amqp.router.route({}, task)["queue"].name

    assert {queue_of(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {"control"}
    for heavy in ("dermrelay.pipeline.tasks.derive", "dermrelay.pipeline.tasks.analysis_run", "dermrelay.imaging.tasks.x"):
        assert queue_of(heavy) != "control"
    workers = [line for line in (REPO_DIR / "scripts" / "run.sh").read_text().splitlines() if line.startswith('"$BIN/celery"')]
    assert [("-Q control" in line, " -B " in line) for line in workers] == [(False, False), (True, True)]
    assert '"-Q", "control"' in (REPO_DIR / "docker-compose.yml").read_text()
