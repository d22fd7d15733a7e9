"""The web server is SIGKILLed in the middle of a multipart upload (a real gunicorn on the test
database): the upload leaves no image row and no stored file, only its staging file, which the
staging sweep removes; the server that comes back answers the same upload with 201."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from dermrelay.accounts.device_tokens import device_token_issue
from dermrelay.accounts.models import Role
from dermrelay.cases.models import Image
from dermrelay.storage import staging_sweep
from tests.conftest import REPO_DIR, stored_files, wait_for
from tests.factories import make_case, make_site, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.worker]
BOUNDARY = "dermrelayfaultboundary"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn(worker_pool, staging: Path, port: int, log: Path) -> subprocess.Popen:
    """A web server on the workers' database, broker and media folder, staging uploads in `staging`."""
    env = {**worker_pool.env(), "DERMRELAY_UPLOAD_TEMP_DIR": str(staging)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dermrelay.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "120"],
        cwd=REPO_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(answers, timeout=60, message="gunicorn to answer")
    return process


def _multipart(case_id, payload: bytes) -> tuple[bytes, bytes]:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ndermoscopy\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + payload, f"\r\n--{BOUNDARY}--\r\n".encode()


def _noise_png(side: int) -> bytes:
    """A PNG that does not compress (random pixels): megabytes, so the server stages it on disk."""
    import io

    from PIL import Image as Picture

    buffer = io.BytesIO()
    Picture.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def test_web_server_killed_mid_upload(workers, worker_media_root, tmp_path, recovery):
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    _, key = device_token_issue(user=tech, name="capture PC")
    staging = tmp_path / "web-staging"
    staging.mkdir()
    originals = worker_media_root / "originals" / str(site.id)
    port = _free_port()
    server = _gunicorn(workers, staging, port, tmp_path / "gunicorn.log")
    try:
        payload = _noise_png(1200)  # ~4 MB: the parser has read most of it when the server dies
        body, tail = _multipart(case.id, payload)
        request = (f"POST /api/v1/cases/{case.id}/images/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Authorization: Token {key}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                   f"Content-Length: {len(body) + len(tail)}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(request + body[: len(body) - 1000])  # all but the end: the server waits for the rest
            staged = wait_for(lambda: list(staging.glob("upload-*")) or None, message="the upload to be staged on disk")
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            recovery.fault_injected("web server SIGKILLed mid-upload")
        assert not Image.objects.filter(case=case).exists()
        assert stored_files(originals) == []  # nothing stored for the cut upload
        assert all(path.exists() for path in staged)

        settings.FILE_UPLOAD_TEMP_DIR = str(staging)
        assert staging_sweep(older_than_seconds=0) == len(staged)
        assert list(staging.iterdir()) == []

        server = _gunicorn(workers, staging, port, tmp_path / "gunicorn-2.log")
        again = requests.post(f"http://127.0.0.1:{port}/api/v1/cases/{case.id}/images/",
                              headers={"Authorization": f"Token {key}"}, data={"kind": "dermoscopy"},
                              files={"file": ("big.png", payload, "image/png")}, timeout=120)
        assert again.status_code == 201, again.text[:500]
        recovery.recovered()
        assert Image.objects.filter(case=case).count() == 1 and len(stored_files(originals)) == 1
        assert list(staging.glob("upload-*")) == []  # a finished upload removes its own staging file
        for log in (tmp_path / "gunicorn.log", tmp_path / "gunicorn-2.log"):
            assert "Internal Server Error" not in log.read_text(errors="replace")  # no request answered 500
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
