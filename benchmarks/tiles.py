"""Tile benchmark: p50/p99 latency at concurrency 8 for deep-zoom tiles of one derived mosaic.

- ours: the production path, nginx checking each signed tile URL (secure_link) and serving the file;
- baseline: the same nginx serving the same tile files as plain static files (no check);
- also: gunicorn + Django serving the signed URLs itself (the embedded default's path), for reference.
All on loopback, in one run, with wrk (Debian's package) cycling through every tile of the pyramid.
Usage: python benchmarks/tiles.py [--size 8000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("TILE_LIST")) do paths[#paths + 1] = line end
local i = 0
function setup(thread) thread:set("offset", math.random(#paths)) end
function request()
  i = i + 1
  return wrk.format("GET", paths[(offset + i) % #paths + 1])
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def derive_pyramid(work: Path, size: int) -> tuple[str, list[str]]:
    """Upload and derive one synthetic mosaic through the real services; returns prefix and tile paths."""
    os.environ.update({"DERMRELAY_VAR_DIR": str(work), "DJANGO_SETTINGS_MODULE": "dermrelay.settings"})
    import django
    import pyvips

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from dermrelay.accounts.models import Role
    from dermrelay.cases import services
    from dermrelay.cases.uploads import stage_stream
    from dermrelay.imaging.models import DerivationJob, Pyramid
    from dermrelay.imaging.services import derivation_run
    from dermrelay.jobs.services import job_run
    from tests.factories import make_case, make_site, make_user

    x = pyvips.Image.xyz(size, size)
    mosaic = ((x[0] * 0.013).sin() * 35 + (x[1] * 0.021).cos() * 35 + 110
              + pyvips.Image.gaussnoise(size, size, sigma=18)).cast("uchar")
    source = work / "mosaic.jpg"
    mosaic.jpegsave(str(source), Q=90)
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    with source.open("rb") as handle:
        image, _ = services.image_create(actor=tech, case=make_case(site=site, actor=tech), staged=stage_stream(handle),
                                         kind="rcm_mosaic", depth_level="dej")
    job = DerivationJob.objects.get(image=image)
    assert job_run(model=DerivationJob, job_id=job.pk, work=derivation_run) == "succeeded"
    prefix = Pyramid.objects.get(image=image).prefix
    root = work / "media" / prefix
    tiles = sorted(str(p.relative_to(root)) for p in root.glob("f0000_files/*/*.jpeg"))
    return prefix, tiles


def run_wrk(base_url: str, paths: list[str], seconds: int, work: Path) -> dict:
    listing = work / f"paths-{random.random():.6f}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = work / "cycle.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(script), base_url],
                         capture_output=True, text=True, env={**os.environ, "TILE_LIST": str(listing)}, check=True).stdout
    latency = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.M)}
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {base_url}:\n{out}")
    return {"p50_ms": latency["50"], "p99_ms": latency["99"], "requests_per_s": requests}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def render_nginx(work: Path, *, listen: int, upstream: int, media: Path, secret: str) -> Path:
    template = (REPO / "deploy" / "nginx.conf.template").read_text()
    values = {
        "DERMRELAY_NGINX_USER": "user root;" if os.geteuid() == 0 else "",
        "DERMRELAY_NGINX_ACCESS_LOG": "off",
        "DERMRELAY_UPSTREAM": f"127.0.0.1:{upstream}",
        "DERMRELAY_LISTEN": f"127.0.0.1:{listen}",
        "DERMRELAY_TILE_SECRET": secret,
        "DERMRELAY_TILE_URL_SECONDS": "14400",
        "DERMRELAY_MEDIA_ROOT": str(media),
        # the baseline: the very same files as plain static files
        "DERMRELAY_NGINX_EXTRA": f"location /static/ {{ alias {media}/; }}",
    }
    config = re.sub(r"\$\{(DERMRELAY_[A-Z_]+)\}", lambda m: values[m.group(1)], template)
    path = work / "nginx.conf"
    path.write_text(config.replace("include       mime.types;", "include       /etc/nginx/mime.types;"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install -y nginx wrk")
    work = Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    processes = []
    try:
        prefix, tiles = derive_pyramid(work, args.size)
        from django.conf import settings

        from benchmarks.common import versions, write_result
        from dermrelay.imaging.tiles import tile_url_base

        media = work / "media"
        signed_base, _ = tile_url_base(prefix)
        web_port, nginx_port = free_port(), free_port()
        env = {**os.environ, "DERMRELAY_VAR_DIR": str(work), "DEBUG": "0", "PYTHONPATH": str(REPO / "platform"),
               "DERMRELAY_TILE_SECRET": settings.DERMRELAY_TILE_SECRET}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "dermrelay.wsgi", "-b", f"127.0.0.1:{web_port}", "-w", "2",
             "--threads", "4", "--log-level", "warning"], env=env, cwd=REPO, start_new_session=True))
        config = render_nginx(work, listen=nginx_port, upstream=web_port, media=media, secret=settings.DERMRELAY_TILE_SECRET)
        processes.append(subprocess.Popen(
            ["nginx", "-p", str(work), "-c", str(config), "-g", f"daemon off; pid {work}/nginx.pid; error_log {work}/nginx-error.log;"],
            start_new_session=True))
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
        wait_http(f"http://127.0.0.1:{nginx_port}/healthz")

        paths = {
            "static": [f"/static/{prefix}/{t}" for t in tiles],
            "ours_nginx": [f"{signed_base}/{t}" for t in tiles],
            "django": [f"{signed_base}/{t}" for t in tiles],
        }
        for name, port in (("static", nginx_port), ("ours_nginx", nginx_port), ("django", web_port)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}{paths[name][0]}").read()  # each path really serves
        run_wrk(f"http://127.0.0.1:{nginx_port}", paths["static"], 2, work)  # warm the page cache
        results = {name: run_wrk(f"http://127.0.0.1:{port}", paths[name], args.seconds, work)
                   for name, port in (("static", nginx_port), ("ours_nginx", nginx_port), ("django", web_port))}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)

    ours, base, django_ = results["ours_nginx"], results["static"], results["django"]
    ratio = ours["p50_ms"] / base["p50_ms"]
    meets = ratio <= 2 and ours["p99_ms"] <= 50
    figures = {f"{name}_{key}": round(value, 3) for name, r in results.items() for key, value in r.items()}
    figures.update({"tiles": len(tiles), "mosaic_px": args.size, "concurrency": 8,
                    "django_p50_ratio_to_static": round(django_["p50_ms"] / base["p50_ms"], 2)})
    summary = "\n".join([
        f"# Tiles: {len(tiles)} deep-zoom tiles of a {args.size}x{args.size} mosaic, concurrency 8, loopback", "",
        "| path | p50 ms | p99 ms | requests/s |", "| --- | --- | --- | --- |",
        *(f"| {label} | {results[k]['p50_ms']:.3f} | {results[k]['p99_ms']:.3f} | {results[k]['requests_per_s']:.0f} |"
          for k, label in (("static", "nginx static (baseline)"), ("ours_nginx", "nginx + signed-URL check (production)"),
                           ("django", "gunicorn + Django tile view (embedded default)"))),
        "", f"Ratio p50 ours/static: {ratio:.2f} (target ≤ 2); p99 ours {ours['p99_ms']:.2f} ms (target ≤ 50): "
        f"{'met' if meets else 'NOT met'}.", "", "Reproduce: `make bench-tiles` (needs Debian's nginx and wrk).",
    ])
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    path = write_result(
        benchmark="tiles", figures=figures, baseline="nginx serving the same tile files as plain static files",
        ratio=ratio, target="p50 <= 2x static server and p99 <= 50 ms at concurrency 8", meets_target=meets,
        versions_=versions("django", "gunicorn", "pyvips", extra={"nginx": nginx_version, "wrk": wrk_version}),
        summary=summary,
    )
    print(summary)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
