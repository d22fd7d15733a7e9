"""Upload benchmark: a 12000x12000 8-bit RCM mosaic (uncompressed TIFF, 144 MB) sent over HTTP on
this machine, from the first byte sent to the answer that the image is stored:

- ours (tus): the browser's path, a tus creation then 8 MiB PATCH chunks to gunicorn (2 workers), the
  last chunk running the intake (SHA-256, sniffing, pixel limits, a full decode that proves the file
  whole, the move into storage, the row);
- ours (multipart): the capture devices' single POST to /cases/{id}/images/, same intake;
- baseline: nginx's WebDAV PUT of the same bytes into a file (receiving and writing, nothing checked),
  the best tool for "put an upload on disk", in the same run.

Each repeat uses a new case (the same bytes twice in one case are answered from the first upload).
Usage: python benchmarks/upload.py [--repeats 3] [--size 12000]
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
CHUNK = 8 * 1024 * 1024


def _metadata(fields: dict) -> str:
    return ",".join(f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in fields.items())


def tus_upload(session, base: str, path: Path, case_id: str) -> tuple[float, float]:
    """(total seconds, seconds of the last PATCH, which runs the intake)."""
    size = path.stat().st_size
    headers = {"Tus-Resumable": "1.0.0"}
    started = time.perf_counter()
    created = session.post(f"{base}/api/v1/uploads/", headers={
        **headers, "Upload-Length": str(size),
        "Upload-Metadata": _metadata({"case": case_id, "kind": "rcm_mosaic", "depth_level": "dej",
                                      "pixel_spacing_um": "1.0", "filename": path.name})})
    created.raise_for_status()
    url = created.headers["Location"]
    offset, last = 0, 0.0
    with path.open("rb") as handle:
        while offset < size:
            chunk = handle.read(CHUNK)
            sent = time.perf_counter()
            response = session.patch(url, data=chunk, headers={
                **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
            if response.status_code != 204:
                raise RuntimeError(f"PATCH answered {response.status_code}: {response.text}")
            offset = int(response.headers["Upload-Offset"])
            last = time.perf_counter() - sent
    if "DermRelay-Image" not in response.headers:
        raise RuntimeError("the last PATCH named no stored image")
    return time.perf_counter() - started, last


def multipart_upload(session, base: str, path: Path, case_id: str) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = session.post(f"{base}/api/v1/cases/{case_id}/images/", files={"file": (path.name, handle, "image/tiff")},
                                data={"kind": "rcm_mosaic", "depth_level": "dej", "pixel_spacing_um": "1.0"})
    if response.status_code != 201:
        raise RuntimeError(f"multipart answered {response.status_code}: {response.text}")
    return time.perf_counter() - started


def nginx_put(session, base: str, path: Path, n: int) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = session.put(f"{base}/put/mosaic-{n}.tif", data=handle)
    if response.status_code not in (201, 204):
        raise RuntimeError(f"nginx PUT answered {response.status_code}")
    return time.perf_counter() - started


def nginx_config(work: Path, port: int) -> Path:
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "dav").mkdir()
    (work / "nginx-tmp").mkdir()
    config = work / "nginx-upload.conf"
    config.write_text(f"""{user}
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2g;
        location /put/ {{ root {work}/dav; dav_methods PUT; create_full_put_path on; }}
        location = /healthz {{ return 200; }}
    }}
}}
""")
    return config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=12000)
    args = parser.parse_args()
    if not shutil.which("nginx"):
        sys.exit("nginx is needed: apt-get install -y nginx")
    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    os.environ["DERMRELAY_VAR_DIR"] = str(work)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermrelay.settings")
    processes: list[subprocess.Popen] = []
    try:
        import django

        django.setup()
        import requests
        from django.core.management import call_command

        from benchmarks.common import versions, write_result
        from benchmarks.ingest import make_mosaic
        from benchmarks.tiles import free_port, wait_http
        from dermrelay.accounts.device_tokens import device_token_issue
        from dermrelay.accounts.models import Membership, Role, Site, User
        from dermrelay.cases import services

        call_command("migrate", verbosity=0)
        site = Site.objects.create(name="Bench clinic", code="bench")
        technician = User.objects.create_user(username="bench-tech", password="bench-password-123")
        Membership.objects.create(user=technician, site=site, role=Role.TECHNICIAN)
        _, token = device_token_issue(user=technician, name="benchmark")
        patient = services.patient_create(actor=technician, site=site, mrn="B-1", given_name="Bench", family_name="Mark")
        lesion = services.lesion_create(actor=technician, patient=patient, label="L1")

        def new_case() -> str:
            import datetime

            return str(services.case_create(actor=technician, lesion=lesion, visit_date=datetime.date.today()).id)

        mosaic = make_mosaic(args.size, work)["tiff"]
        size_mb = mosaic.stat().st_size / 1e6
        web_port, nginx_port = free_port(), free_port()
        env = {**os.environ, "DEBUG": "0", "PYTHONPATH": str(REPO / "platform")}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "dermrelay.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "2",
             "--threads", "4", "--timeout", "300", "--log-level", "warning"], env=env, cwd=REPO, start_new_session=True))
        processes.append(subprocess.Popen(
            ["nginx", "-p", str(work), "-c", str(nginx_config(work, nginx_port)),
             "-g", f"daemon off; pid {work}/nginx.pid; error_log {work}/nginx-error.log;"], start_new_session=True))
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        wait_http(f"http://127.0.0.1:{nginx_port}/healthz")

        api = requests.Session()
        api.headers["Authorization"] = f"Token {token}"
        plain = requests.Session()
        web, static = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{nginx_port}"
        nginx_put(plain, static, mosaic, -1)  # warm the page cache with the file
        tus_s, last_s, multipart_s, nginx_s = [], [], [], []
        for n in range(args.repeats):
            nginx_s.append(nginx_put(plain, static, mosaic, n))
            total, last = tus_upload(api, web, mosaic, new_case())
            tus_s.append(total)
            last_s.append(last)
            multipart_s.append(multipart_upload(api, web, mosaic, new_case()))

        tus, multipart, baseline = statistics.median(tus_s), statistics.median(multipart_s), statistics.median(nginx_s)
        ratio = tus / baseline
        target = 4.0
        figures = {
            "file_mb": round(size_mb, 1),
            "tus_total_s": round(tus, 3), "tus_last_chunk_with_intake_s": round(statistics.median(last_s), 3),
            "tus_mb_per_s": round(size_mb / tus, 1), "multipart_total_s": round(multipart, 3),
            "multipart_mb_per_s": round(size_mb / multipart, 1), "nginx_put_s": round(baseline, 3),
            "nginx_put_mb_per_s": round(size_mb / baseline, 1), "repeats": args.repeats,
        }
        nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        summary = "\n".join([
            "# Upload benchmark", "",
            f"A {args.size}x{args.size} 8-bit mosaic, uncompressed TIFF ({size_mb:.0f} MB), over HTTP on this machine; "
            f"median of {args.repeats}.", "",
            "| path | seconds | MB/s |", "| --- | ---: | ---: |",
            f"| nginx WebDAV PUT into a file (baseline: receive and write, nothing checked) | {baseline:.2f} | {size_mb / baseline:.0f} |",
            f"| ours, tus in 8 MiB chunks (browser) | {tus:.2f} | {size_mb / tus:.0f} |",
            f"| ours, one multipart POST (devices) | {multipart:.2f} | {size_mb / multipart:.0f} |", "",
            f"The last tus chunk, which runs the intake (hash, sniff, limits, full decode, store, row), takes "
            f"{statistics.median(last_s):.2f} s of the tus total.", "",
            f"Ratio tus / nginx: {ratio:.2f} (target ≤ {target}: {'met' if ratio <= target else 'NOT met'}). "
            "Ours does what nginx does not: it proves the file is a whole image of an accepted type before a row exists.",
            "", "Reproduce: `make bench-upload` (needs Debian's nginx).",
        ])
        write_result(benchmark="upload", figures=figures, baseline=f"nginx WebDAV PUT of the same file ({nginx_version})",
                     ratio=ratio, target=f"tus_total_s / nginx_put_s <= {target}", meets_target=ratio <= target,
                     versions_=versions("django", "gunicorn", "pyvips", "Pillow", "requests", extra={"nginx": nginx_version}),
                     summary=summary)
        print(summary)
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
