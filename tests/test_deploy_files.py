"""docker-compose.yml stays a valid Compose file (there is no Docker engine here: only the config is checked)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[1]


def _compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_is_valid():
    command = _compose_command()
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no docker compose client: .ci/run installs Debian's docker-compose")
        pytest.skip("no docker compose client installed")
    env = {**os.environ, "SECRET_KEY": "s" * 50, "POSTGRES_PASSWORD": "pw"}
    result = subprocess.run([*command, "-f", "docker-compose.yml", "config", "-q"], cwd=REPO_DIR, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = subprocess.run([*command, "config", "--services"], cwd=REPO_DIR, env=env, capture_output=True, text=True)
    assert set(services.stdout.split()) >= {"postgres", "redis", "web", "worker-cpu", "worker-gpu", "beat"}
