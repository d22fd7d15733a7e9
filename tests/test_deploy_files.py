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
    env = {**os.environ, "SECRET_KEY": "s" * 50, "POSTGRES_PASSWORD": "pw", "POSTGRES_APP_PASSWORD": "app-pw", "DERMRELAY_TILE_SECRET": "t" * 40}
    result = subprocess.run([*command, "-f", "docker-compose.yml", "config", "-q"], cwd=REPO_DIR, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    services = subprocess.run([*command, "config", "--services"], cwd=REPO_DIR, env=env, capture_output=True, text=True)
    assert set(services.stdout.split()) >= {"postgres", "redis", "web", "proxy", "worker-cpu", "worker-gpu", "worker-control", "beat"}


def test_nginx_template_checks_tiles_with_the_same_token_as_django():
    """The production front server's tile rule and Django's token must agree (imaging/tiles.py)."""
    import re

    from dermrelay.imaging.tiles import TILE_PATH

    template = (REPO_DIR / "deploy" / "nginx.conf.template").read_text()
    assert 'secure_link_md5 "$secure_link_expires$prefix ${DERMRELAY_TILE_SECRET}";' in template
    location = re.search(r'location ~ "(.+?)" \{', template).group(1)
    nginx_rule = re.compile(location.replace("(?<", "(?P<"))
    sample = "/tiles/1790000000/" + "A" * 22 + "/derived/" + "1" * 36 + "/" + "2" * 36 + "/pyramid-0123456789ab/f0000_files/12/3_4.jpeg"
    match = nginx_rule.match(sample)
    assert match and TILE_PATH.match(f"{match.group('prefix')}/{match.group('file')}")
    assert not nginx_rule.match(sample.replace("/f0000_files/", "/../"))
