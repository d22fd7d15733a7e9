"""End-to-end benchmark: a 6x6 mm phantom mosaic (6000x6000 at 1 µm/px) and its dermoscopy image
uploaded through the API of the real platform processes, until the case's quality verdict is
readable through the API. Two configurations, one after the other:

- embedded: the defaults with no environment (SQLite file, kombu's file-system broker);
- services: PostgreSQL (a benchmark database created and dropped here) and Redis (one db number).

Each configuration gets a fresh DERMRELAY_VAR_DIR, `manage.py migrate` and `models_sync`, a
technician with a token, and the processes of scripts/run.sh: gunicorn (2 workers x 4 threads)
and one Celery worker with beat (`-Q default,ingest,inference --concurrency 2`). One warm-up run
(the worker's first case: imports, model load) is reported apart; then each timed run creates a
patient, lesion and case through the API (not timed), starts the clock, uploads the dermoscopy
JPEG and the mosaic PNG, PUTs the registration and the lesion outline, and polls
GET /cases/{id}/quality/ every 0.1 s until its state is "complete" with a final verdict; the
clock stops there. (A "complete" answer without a verdict, seen while the mosaic reads
"not_analysed" between its derivation and its analysis run, is recorded and polled past.)

The baseline, measured in the same run: the bare pipeline in one process with no platform around
it, libvips dzsave of the same mosaic file + the quality model (ONNX Runtime via the registry)
on the same file, model loaded once beforehand, in a process of its own that runs once right after
each timed platform run (so both see the same machine load). Ratio = platform median / median of
the bare runs beside it.
The phantom is generated once before anything is timed (it is not part of what is measured).

Usage: python benchmarks/end_to_end.py [--repeats 5] [--skip-services]
       [--postgres-url postgres://root@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/13]
Exits non-zero with a message when PostgreSQL or Redis is unreachable, unless --skip-services.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
BIN = Path(sys.executable).parent
DZ_OPTIONS = {"tile_size": 254, "overlap": 1, "suffix": ".jpeg[Q=85,keep=none]", "layout": "dz", "keep": "none"}
MODEL = "rcm-quality-mednet"
TARGET_S = 10.0
POLL_S = 0.1
PASSWORD = "bench-e2e-" + uuid.uuid4().hex
# Environment variables that would change the platform's configuration: cleared, so "embedded"
# really is the defaults and "services" sets only what it names.
CLEARED_ENV = ("DATABASE_URL", "REDIS_URL", "DERMRELAY_ENV", "DEBUG", "SECRET_KEY", "AWS_STORAGE_BUCKET_NAME",
               "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE")


# --------------------------------------------------------------------------- children (own processes)


def child_phantom(folder: Path, size: int, seed: int, spacing: float) -> None:
    """Generate the gate phantom once and write the upload bytes (memory-heavy: its own process)."""
    import io

    from PIL import Image as PILImage

    from inference.phantoms.generator import gate_phantom
    from inference.phantoms.outlines import lesion_polygon

    started = time.perf_counter()
    phantom = gate_phantom(seed=seed, where="lesion", size_px=size, pixel_spacing_um=spacing)
    generated = time.perf_counter() - started
    buffer = io.BytesIO()
    PILImage.fromarray(phantom.image).save(buffer, "PNG", compress_level=1)  # as tests/gate/gate_cases.py
    (folder / "mosaic.png").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    PILImage.fromarray(phantom.dermoscopy, "RGB").save(buffer, "JPEG", quality=92)
    (folder / "dermoscopy.jpg").write_bytes(buffer.getvalue())
    (folder / "phantom.json").write_text(json.dumps({
        "seed": seed, "size_px": size, "pixel_spacing_um": spacing, "generate_s": round(generated, 1),
        "matrix": phantom.registration.tolist(), "polygon": lesion_polygon(phantom),
        "true_percent_whole": round(100 * phantom.uninformative_fraction, 2),
        "true_percent_lesion": round(100 * phantom.lesional_uninformative_fraction, 2),
    }))


def child_bare(folder: Path, spacing: float) -> None:
    """The baseline: libvips dzsave + the quality model on the same file, in one process with no
    platform. Loads the model and runs one warm-up, then runs once per line read from stdin and
    answers one JSON line, so each platform run gets a bare run right beside it (same load)."""
    import pyvips

    from inference.serving.quality import analyse_file
    from inference.serving.registry import Registry

    source = str(folder / "mosaic.png")
    started = time.perf_counter()
    model = Registry().load(MODEL)
    model_load_s = time.perf_counter() - started

    def once(index: int) -> dict:
        out = folder / f"bare-{index}"
        out.mkdir()
        started = time.perf_counter()
        pyvips.Image.new_from_file(source, access="sequential").dzsave(str(out / "f0000"), **DZ_OPTIONS)
        mark = time.perf_counter()
        result = analyse_file(model, source, source_spacing_um=spacing)
        done = time.perf_counter()
        shutil.rmtree(out)
        return {"dzsave_s": mark - started, "analyse_s": done - mark, "total_s": done - started,
                "percent_uninformative": result.percent_uninformative}

    warmup = once(0)
    print(json.dumps({"model_load_s": model_load_s, "backend": model.backend, "warmup": warmup}), flush=True)
    for index, _ in enumerate(sys.stdin, start=1):
        print(json.dumps(once(index)), flush=True)


class Bare:
    """The long-lived baseline process (see child_bare)."""

    def __init__(self, folder: Path, spacing: float):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", "bare", str(folder), "--spacing", str(spacing)], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": f"{REPO / 'platform'}:{REPO}"})
        self.info = self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the bare pipeline process exited ({self.process.wait()})")
        return json.loads(line)

    def run(self) -> dict:
        load = os.getloadavg()[0]
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return {**self._answer(), "load_1m_at_start": load}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Run inside the platform's Django (manage.py shell -c): a site, a technician, and afterwards the
# job rows of the measured mosaics.
SETUP_USER = """
from dermrelay.accounts.models import Membership, Role, Site, User
site = Site.objects.create(name="Benchmark clinic", code="bench")
user = User.objects.create_user(username="bench.tech", password={password!r})
Membership.objects.create(user=user, site=site, role=Role.TECHNICIAN)
print("SITE", site.id, user.id)
"""
JOB_ROWS = """
import json
from dermrelay.cases.models import Image
from dermrelay.imaging.models import DerivationJob
from dermrelay.analysis.models import AnalysisRun
ts = lambda value: value.isoformat() if value else None
rows = {{}}
for image_id in {ids!r}:
    image = Image.objects.get(pk=image_id)
    job = DerivationJob.objects.get(image=image)
    run = AnalysisRun.objects.filter(image=image).order_by("created_at").last()
    rows[image_id] = {{"image_created": ts(image.created_at),
        "derivation": {{"created": ts(job.created_at), "enqueued": ts(job.enqueued_at), "started": ts(job.started_at),
                        "finished": ts(job.finished_at), "attempts": job.attempts, "state": job.state}},
        "run": {{"created": ts(run.created_at), "enqueued": ts(run.enqueued_at), "started": ts(run.started_at),
                 "finished": ts(run.finished_at), "attempts": run.attempts, "state": run.state,
                 "timings": run.timings}} if run else None}}
print("ROWS", json.dumps(rows))
"""


# --------------------------------------------------------------------------- HTTP


class Api:
    def __init__(self, port: int):
        self.port, self.token = port, None

    def call(self, method: str, path: str, *, payload=None, body: bytes | None = None, content_type: str | None = None,
             expect=(200, 201)) -> dict:
        headers = {}
        if payload is not None:
            body, content_type = json.dumps(payload).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:2000].decode(errors='replace')}")
        return json.loads(data) if data else {}

    def upload(self, case_id: str, name: str, data: bytes, content_type: str, **fields) -> dict:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
                 for key, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.call("POST", f"/api/v1/cases/{case_id}/images/", body=b"".join(parts),
                         content_type=f"multipart/form-data; boundary={boundary}", expect=(201,))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- services


def check_services(postgres_url: str, redis_url: str) -> str | None:
    """None when both answer, else what is wrong."""
    import psycopg
    import redis

    problems = []
    try:
        psycopg.connect(_libpq(postgres_url), connect_timeout=3).close()
    except Exception as exc:
        problems.append(f"PostgreSQL is unreachable at {postgres_url}: {str(exc).strip()}")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        problems.append(f"Redis is unreachable at {redis_url}: {exc}")
    return "\n".join(problems) or None


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def postgres_create(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def postgres_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def server_versions(postgres_url: str, redis_url: str) -> dict:
    import psycopg
    import redis

    with psycopg.connect(_libpq(postgres_url)) as connection:
        pg = connection.execute("SHOW server_version").fetchone()[0]
    return {"postgresql_server": pg, "redis_server": redis.Redis.from_url(redis_url).info("server")["redis_version"]}


# --------------------------------------------------------------------------- the platform


class Platform:
    """The platform's processes on one configuration, in a fresh var folder; always stopped."""

    def __init__(self, work: Path, extra_env: dict):
        self.work = work
        self.var = work / "var"
        self.env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV and not k.startswith("DERMRELAY_")}
        self.env.update({"PYTHONPATH": str(REPO / "platform"), "DERMRELAY_VAR_DIR": str(self.var), **extra_env})
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.port = free_port()
        self.site_id = self.user_id = None

    def manage(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        return out.stdout

    def prepare(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("models_sync")
        output = self.manage("shell", "-c", SETUP_USER.format(password=PASSWORD))
        self.site_id, self.user_id = next(line.split()[1:3] for line in output.splitlines() if line.startswith("SITE "))

    def start(self) -> None:
        self._spawn("worker", [str(BIN / "celery"), "-A", "dermrelay", "worker", "-B", "-Q", "default,ingest,inference,control",
                               "--concurrency", "2", "--loglevel", "INFO"])
        self._spawn("web", [str(BIN / "gunicorn"), "dermrelay.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                            "--threads", "4", "--access-logfile", "-"])
        deadline = time.monotonic() + 120
        web_ok = worker_ok = False
        while time.monotonic() < deadline and not (web_ok and worker_ok):
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"the {name} process exited ({process.returncode}):\n{self.log_tail(name)}")
            if not web_ok:
                try:
                    Api(self.port).call("GET", "/healthz")
                    web_ok = True
                except (OSError, RuntimeError):
                    pass
            worker_ok = worker_ok or " ready." in (self.work / "worker.log").read_text(errors="replace")
            time.sleep(0.2)
        if not (web_ok and worker_ok):
            raise RuntimeError(f"the platform did not start in 120 s (web {web_ok}, worker {worker_ok}):\n"
                               f"{self.log_tail('web')}\n{self.log_tail('worker')}")

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.work / f"{name}.log").open("wb")
        self.processes.append((name, subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log,
                                                      stderr=subprocess.STDOUT, start_new_session=True)))

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.work / f"{name}.log"
        return f"--- {name}.log ---\n" + (path.read_text(errors="replace")[-chars:] if path.exists() else "(none)")

    def stop(self) -> None:
        for _, process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever is left of the group (pool children, beat) goes too
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.processes.clear()


def one_case(api: Api, site_id: str, user_id: str, files: dict, phantom: dict, n: int) -> dict:
    """Create the case (not timed), then: upload both, register, outline, poll until complete."""
    patient = api.call("POST", "/api/v1/patients/", payload={
        "site": site_id, "mrn": f"E2E-{n}-{uuid.uuid4().hex[:6]}", "given_name": "Bench", "family_name": f"Run{n}",
        "birth_date": "1970-01-01"})
    lesion = api.call("POST", "/api/v1/lesions/", payload={"patient": patient["id"], "label": "L1",
                                                            "anatom_site_general": "anterior torso"})
    case = api.call("POST", "/api/v1/cases/", payload={"lesion": lesion["id"], "visit_date": "2026-11-24",
                                                       "technician": int(user_id), "device": "benchmark"})
    marks, load = {}, os.getloadavg()[0]
    wall0, t0 = time.time(), time.perf_counter()
    dermoscopy = api.upload(case["id"], "dermoscopy.jpg", files["dermoscopy"], "image/jpeg", kind="dermoscopy")
    marks["dermoscopy_uploaded"] = time.perf_counter() - t0
    mosaic = api.upload(case["id"], "mosaic.png", files["mosaic"], "image/png", kind="rcm_mosaic", depth_level="dej",
                        pixel_spacing_um=phantom["pixel_spacing_um"])
    marks["mosaic_uploaded"] = time.perf_counter() - t0
    api.call("PUT", f"/api/v1/images/{mosaic['id']}/registration/",
             payload={"dermoscopy": dermoscopy["id"], "matrix": phantom["matrix"]})
    api.call("PUT", f"/api/v1/images/{dermoscopy['id']}/lesion-outline/", payload={"polygon": phantom["polygon"]})
    marks["outlined"] = time.perf_counter() - t0
    polls, premature = 0, []
    while True:
        quality = api.call("GET", f"/api/v1/cases/{case['id']}/quality/")
        polls += 1
        if quality["state"] == "complete":
            if quality["verdict_is_final"] and quality["mosaics"][0]["state"] == "done":
                break
            # "complete" without a verdict: a failure, or the moment between the derivation's commit
            # (image ready) and the analysis run's creation, when the mosaic reads "not_analysed".
            # Recorded, and polled on: a failed mosaic or one that stays unanalysed ends the run.
            premature.append({"at_s": round(time.perf_counter() - t0, 3), "mosaic_state": quality["mosaics"][0]["state"]})
            if quality["mosaics"][0]["state"] == "failed" or time.perf_counter() - t0 - premature[0]["at_s"] > 30:
                raise RuntimeError(f"the case completed without a final verdict: {json.dumps(quality)[:3000]}")
        if time.perf_counter() - t0 > 600:
            raise RuntimeError(f"no verdict after 600 s: {json.dumps(quality)[:3000]}")
        time.sleep(POLL_S)
    seconds = time.perf_counter() - t0
    entry = quality["mosaics"][0]
    analyses = api.call("GET", f"/api/v1/cases/{case['id']}/analyses/")
    return {"seconds": seconds, "wall0": wall0, "marks": marks, "polls": polls, "premature_complete": premature,
            "load_1m_at_start": load, "case": case["id"], "mosaic": mosaic["id"],
            "verdict": quality["verdict"], "basis": entry["basis"], "percent_whole": entry["percent_whole"],
            "percent_lesion": entry["percent_lesion"], "assessed_at": entry["assessed_at"],
            "run_timings": entry["run"]["timings"], "run_summary": analyses["runs"]}


def _at(stamp: str | None, wall0: float) -> float | None:
    return None if stamp is None else datetime.datetime.fromisoformat(stamp).timestamp() - wall0


def stages(run: dict, rows: dict) -> dict:
    """Seconds per stage from the clock's start, from the client's marks and the job rows."""
    row, wall0 = rows[run["mosaic"]], run["wall0"]
    derivation, analysis, timings = row["derivation"], row["run"], run["run_timings"]
    at = {"image_stored": _at(row["image_created"], wall0), "derivation_started": _at(derivation["started"], wall0),
          "derivation_finished": _at(derivation["finished"], wall0), "analysis_created": _at(analysis["created"], wall0),
          "analysis_started": _at(analysis["started"], wall0), "analysis_finished": _at(analysis["finished"], wall0),
          "assessed": _at(run["assessed_at"], wall0)}
    return {
        "upload_dermoscopy_s": run["marks"]["dermoscopy_uploaded"],
        "upload_mosaic_s": run["marks"]["mosaic_uploaded"] - run["marks"]["dermoscopy_uploaded"],
        "register_and_outline_s": run["marks"]["outlined"] - run["marks"]["mosaic_uploaded"],
        "queue_to_derivation_s": at["derivation_started"] - at["image_stored"],
        "derivation_s": at["derivation_finished"] - at["derivation_started"],
        "derivation_to_analysis_start_s": at["analysis_started"] - at["derivation_finished"],
        "analysis_s": at["analysis_finished"] - at["analysis_started"],
        "model_load_s": timings.get("model_load_s"), "read_s": timings.get("read_s"),
        "inference_s": timings.get("inference_s"), "outputs_s": timings.get("outputs_s"),
        "judge_s": at["assessed"] - at["analysis_finished"],
        "verdict_seen_after_s": run["seconds"] - at["assessed"],
        "mosaic_stored_at_s": at["image_stored"], "derivation_started_at_s": at["derivation_started"],
        "analysis_finished_at_s": at["analysis_finished"],
        "derivation_attempts": derivation["attempts"], "analysis_attempts": analysis["attempts"],
    }


def measure_configuration(name: str, work: Path, extra_env: dict, files: dict, phantom: dict, repeats: int,
                          warmup: int, bare: Bare) -> dict:
    platform = Platform(work, extra_env)
    try:
        platform.prepare()
        platform.start()
        api = Api(platform.port)
        api.token = api.call("POST", "/api/v1/auth/token/", payload={"username": "bench.tech", "password": PASSWORD})["token"]
        warm = [one_case(api, platform.site_id, platform.user_id, files, phantom, n) for n in range(warmup)]
        timed, paired = [], []
        for n in range(repeats):
            timed.append(one_case(api, platform.site_id, platform.user_id, files, phantom, warmup + n))
            paired.append(bare.run())  # the platform is idle now: same machine, same minute
            print(f"{name} run {n + 1}: {timed[-1]['seconds']:.2f} s, verdict {timed[-1]['verdict']} "
                  f"({timed[-1]['basis']}, {timed[-1]['percent_lesion']}% lesional); bare pipeline beside it "
                  f"{paired[-1]['total_s']:.2f} s", flush=True)
        output = platform.manage("shell", "-c", JOB_ROWS.format(ids=[r["mosaic"] for r in warm + timed]))
        rows = json.loads(next(line[5:] for line in output.splitlines() if line.startswith("ROWS ")))
    except BaseException:
        print(platform.log_tail("worker"), file=sys.stderr)
        print(platform.log_tail("web"), file=sys.stderr)
        raise
    finally:
        platform.stop()
    for run in warm + timed:
        run["stages"] = stages(run, rows)
    return {"warmup": warm, "timed": timed, "bare": paired}


def summarise(name: str, result: dict) -> dict:
    runs = result["timed"]
    seconds = [r["seconds"] for r in runs]
    keys = [k for k in runs[0]["stages"] if k.endswith("_s") and not k.endswith("_at_s")]
    return {
        f"{name}_median_s": round(statistics.median(seconds), 2), f"{name}_min_s": round(min(seconds), 2),
        f"{name}_max_s": round(max(seconds), 2), f"{name}_runs_s": [round(s, 2) for s in seconds],
        f"{name}_warmup_runs_s": [round(r["seconds"], 2) for r in result["warmup"]],
        f"{name}_stages_median_s": {k: round(statistics.median(r["stages"][k] for r in runs), 3) for k in keys},
        f"{name}_stages_per_run": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r["stages"].items()}
                                   for r in runs],
        f"{name}_warmup_stages": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r["stages"].items()}
                                  for r in result["warmup"]],
        f"{name}_verdicts": sorted({f"{r['verdict']} ({r['basis']})" for r in runs}),
        f"{name}_percent_lesion": [r["percent_lesion"] for r in runs],
        f"{name}_percent_whole": [r["percent_whole"] for r in runs],
        f"{name}_polls_median": statistics.median(r["polls"] for r in runs),
        f"{name}_load_1m_at_run_start": [round(r["load_1m_at_start"], 2) for r in runs],
        f"{name}_premature_complete": [{"run": i + 1, "answers": r["premature_complete"]}
                                       for i, r in enumerate(runs) if r["premature_complete"]],
        f"{name}_warmup_premature_complete": [r["premature_complete"] for r in result["warmup"] if r["premature_complete"]],
    }


# --------------------------------------------------------------------------- main


def run_child(*args: str) -> str:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": f"{REPO / 'platform'}:{REPO}"}, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return out.stdout


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="untimed first runs per configuration (reported apart)")
    parser.add_argument("--size", type=int, default=6000, help="mosaic side in pixels (6000 at 1 µm/px = 6 mm)")
    parser.add_argument("--spacing", type=float, default=1.0, help="µm per pixel")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres"),
                        help="a database to connect to for creating and dropping the benchmark database")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
                        help="a Redis db of the benchmark's own: flushed before and after")
    parser.add_argument("--skip-services", action="store_true", help="measure only the embedded configuration")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        mode, folder = args.child[0], Path(args.child[1])
        if mode == "phantom":
            return child_phantom(folder, args.size, args.seed, args.spacing)
        return child_bare(folder, args.spacing)

    # SIGTERM (and SIGINT, also where a background shell ignores it) unwind through the finally
    # blocks: the platform's processes are stopped, the benchmark database dropped, Redis flushed.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    configs = ["embedded"] + ([] if args.skip_services else ["services"])
    if "services" in configs:
        problem = check_services(args.postgres_url, args.redis_url)
        if problem:
            sys.exit(f"end_to_end: {problem}\nThe services configuration needs both. Start them, point "
                     f"--postgres-url/--redis-url at them, or run with --skip-services to measure only the embedded "
                     f"configuration.")

    from benchmarks.common import versions, write_result

    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    database = f"dermrelay_bench_e2e_{os.getpid()}"
    results, extra_versions, bare = {}, {}, None
    try:
        print(f"generating the {args.size}x{args.size} phantom (seed {args.seed}; not timed) ...", flush=True)
        run_child("phantom", str(work), "--size", str(args.size), "--seed", str(args.seed), "--spacing", str(args.spacing))
        phantom = json.loads((work / "phantom.json").read_text())
        files = {"mosaic": (work / "mosaic.png").read_bytes(), "dermoscopy": (work / "dermoscopy.jpg").read_bytes()}
        print(f"phantom ready in {phantom['generate_s']} s: mosaic PNG {len(files['mosaic']) / 1e6:.1f} MB", flush=True)

        bare = Bare(work, args.spacing)
        print(f"bare pipeline: model loaded in {bare.info['model_load_s']:.2f} s, warm-up run "
              f"{bare.info['warmup']['total_s']:.2f} s", flush=True)

        for config in configs:
            folder = work / config
            folder.mkdir()
            extra_env = {}
            if config == "services":
                postgres_create(args.postgres_url, database)
                redis_flush(args.redis_url)
                extra_env = {"DATABASE_URL": _with_database(args.postgres_url, database), "REDIS_URL": args.redis_url}
                extra_versions = server_versions(args.postgres_url, args.redis_url)
            try:
                results[config] = measure_configuration(config, folder, extra_env, files, phantom, args.repeats,
                                                        args.warmup, bare)
            finally:
                if config == "services":
                    postgres_drop(args.postgres_url, database)
                    redis_flush(args.redis_url)
            print(f"{config}: median {statistics.median(r['seconds'] for r in results[config]['timed']):.2f} s", flush=True)
    finally:
        if bare is not None:
            bare.stop()
        shutil.rmtree(work, ignore_errors=True)

    bare_runs = [r for result in results.values() for r in result["bare"]]
    figures = {
        "mosaic_px": args.size, "pixel_spacing_um": args.spacing, "phantom_seed": args.seed,
        "mosaic_png_mb": round(len(files["mosaic"]) / 1e6, 1), "dermoscopy_jpeg_kb": round(len(files["dermoscopy"]) / 1e3),
        "true_percent_lesion": phantom["true_percent_lesion"], "true_percent_whole": phantom["true_percent_whole"],
        "repeats": args.repeats, "warmup": args.warmup, "poll_interval_s": POLL_S,
        "bare_median_s": round(statistics.median(r["total_s"] for r in bare_runs), 2),
        "bare_dzsave_median_s": round(statistics.median(r["dzsave_s"] for r in bare_runs), 3),
        "bare_analyse_median_s": round(statistics.median(r["analyse_s"] for r in bare_runs), 3),
        "bare_model_load_s": round(bare.info["model_load_s"], 3), "bare_backend": bare.info["backend"],
        "bare_warmup_s": round(bare.info["warmup"]["total_s"], 2),
        "bare_percent_uninformative": round(bare_runs[0]["percent_uninformative"], 2),
    }
    ratios = {}
    for config, result in results.items():
        figures.update(summarise(config, result))
        paired = result["bare"]
        figures.update({
            f"{config}_bare_median_s": round(statistics.median(r["total_s"] for r in paired), 2),
            f"{config}_bare_runs_s": [round(r["total_s"], 2) for r in paired],
            f"{config}_bare_dzsave_median_s": round(statistics.median(r["dzsave_s"] for r in paired), 3),
            f"{config}_bare_analyse_median_s": round(statistics.median(r["analyse_s"] for r in paired), 3),
            f"{config}_bare_load_1m_at_start": [round(r["load_1m_at_start"], 2) for r in paired],
            # each platform run over the bare run right after it, then the median of those
            f"{config}_paired_ratios": [round(p["seconds"] / b["total_s"], 2) for p, b in zip(result["timed"], paired)],
        })
        ratios[config] = figures[f"{config}_median_s"] / statistics.median(r["total_s"] for r in paired)
        figures[f"{config}_ratio_to_bare"] = round(ratios[config], 2)
    worst = max(ratios.values())
    meets = all(figures[f"{c}_median_s"] <= TARGET_S for c in configs)
    path = write_result(
        benchmark="end_to_end", figures=figures,
        baseline="the bare pipeline in one process: pyvips dzsave of the same mosaic file + the quality model "
                 "(registry, ONNX Runtime) on it via inference.serving.quality.analyse_file, model loaded beforehand",
        ratio=worst, target=f"median <= {TARGET_S:g} s per configuration from upload start to verdict readable",
        meets_target=meets,
        versions_=versions("django", "celery", "kombu", "gunicorn", "pyvips", "pyvips-binary", "onnxruntime", "numpy",
                           "psycopg", "redis", extra=extra_versions),
        summary=summary_markdown(figures, configs, args, meets, worst, extra_versions),
    )
    print((REPO / "benchmarks" / "results" / "end_to_end.md").read_text())
    print(f"wrote {path}")


STAGE_LABELS = [
    ("upload_dermoscopy_s", "upload dermoscopy JPEG (HTTP round trip)"),
    ("upload_mosaic_s", "upload mosaic PNG (HTTP: stream, SHA-256, verify decode, store)"),
    ("register_and_outline_s", "PUT registration + PUT lesion outline"),
    ("queue_to_derivation_s", "mosaic stored → derivation job starts (broker, queue)"),
    ("derivation_s", "derivation (Deep Zoom pyramid + thumbnail)"),
    ("derivation_to_analysis_start_s", "derivation done → quality run starts (broker, queue)"),
    ("analysis_s", "quality run (whole job)"),
    ("model_load_s", "· model load"),
    ("read_s", "· read at working spacing"),
    ("inference_s", "· inference"),
    ("outputs_s", "· outputs (label/probability PNGs, overlay pyramid)"),
    ("judge_s", "quality run done → verdict stored (gate, projection overlay)"),
    ("verdict_seen_after_s", "verdict stored → seen by the client's poll"),
]


def summary_markdown(figures: dict, configs: list[str], args, meets: bool, worst: float, extra_versions: dict) -> str:
    header = " | ".join(configs)
    lines = [
        f"# End to end: {args.size}x{args.size} phantom mosaic ({args.size * args.spacing / 1000:g}x"
        f"{args.size * args.spacing / 1000:g} mm at {args.spacing:g} µm/px) + dermoscopy → verdict readable through the API",
        "",
        f"Real processes as `scripts/run.sh` starts them (gunicorn 2x4, Celery worker -B, concurrency 2). Median of "
        f"{args.repeats} timed runs per configuration after {args.warmup} warm-up run(s); the clock runs from the first "
        f"upload's request to the first GET /cases/{{id}}/quality/ (polled every {POLL_S:g} s) that answers "
        f"`complete` with the final verdict. Mosaic PNG {figures['mosaic_png_mb']} MB; phantom seed {args.seed} (the lesion half "
        f"uninformative: true {figures['true_percent_lesion']}% lesional, {figures['true_percent_whole']}% whole).",
        "",
        "| configuration | median s | min s | max s | warm-up (first case) s | bare pipeline s | ratio | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"embedded": "embedded (SQLite + file-system broker)",
             "services": f"services (PostgreSQL {extra_versions.get('postgresql_server', '')} + Redis {extra_versions.get('redis_server', '')})"}
    for c in configs:
        lines.append(f"| {names[c]} | {figures[f'{c}_median_s']} | {figures[f'{c}_min_s']} | {figures[f'{c}_max_s']} | "
                     f"{', '.join(map(str, figures[f'{c}_warmup_runs_s']))} | {figures[f'{c}_bare_median_s']} | "
                     f"{figures[f'{c}_ratio_to_bare']} | {', '.join(figures[f'{c}_verdicts'])} |")
    lines += ["", "Bare pipeline (one process, no platform, model loaded beforehand), run once right after each "
              "timed platform run so both see the same machine load: " + "; ".join(
                  f"beside {c}: dzsave {figures[f'{c}_bare_dzsave_median_s']} s + quality model "
                  f"{figures[f'{c}_bare_analyse_median_s']} s = {figures[f'{c}_bare_median_s']} s median "
                  f"(runs {', '.join(map(str, figures[f'{c}_bare_runs_s']))}; per-pair ratios "
                  f"{', '.join(map(str, figures[f'{c}_paired_ratios']))})" for c in configs)
              + f". Backend {figures['bare_backend']}; its model load ({figures['bare_model_load_s']} s) and warm-up run "
              f"({figures['bare_warmup_s']} s) are not counted.", "",
              "Stages, median seconds of the timed runs (· = parts of the quality run, from the run's own timings):", "",
              f"| stage | {header} |", "| --- |" + " --- |" * len(configs)]
    for key, label in STAGE_LABELS:
        lines.append(f"| {label} | " + " | ".join(f"{figures[f'{c}_stages_median_s'][key]:.3f}" for c in configs) + " |")
    lines.append("| **total** | " + " | ".join(f"**{figures[f'{c}_median_s']}**" for c in configs) + " |")
    for c in configs:
        stages_ = figures[f"{c}_stages_median_s"]
        top = max(("upload_mosaic_s", "queue_to_derivation_s", "derivation_s", "derivation_to_analysis_start_s",
                   "analysis_s", "judge_s"), key=lambda k: stages_[k])
        lines.append("")
        lines.append(f"{c}: runs {', '.join(map(str, figures[f'{c}_runs_s']))} s; largest stage: "
                     f"{dict(STAGE_LABELS)[top]} ({stages_[top]:.2f} s); percent lesional "
                     f"{', '.join(map(str, figures[f'{c}_percent_lesion']))}; 1-minute load average at each run's "
                     f"start {', '.join(map(str, figures[f'{c}_load_1m_at_run_start']))} (2 cores).")
        early = figures[f"{c}_premature_complete"] + figures[f"{c}_warmup_premature_complete"]
        if early:
            lines.append(f"{c}: GET quality/ answered `complete` with no verdict (mosaic `not_analysed`) before the "
                         f"verdict in {len(early)} run(s): {json.dumps(early)}; the benchmark polls on until the verdict.")
    lines += ["", f"Target: median ≤ {TARGET_S:g} s per configuration: {'met' if meets else 'NOT met'}. "
              f"Worst ratio to the bare pipeline: {worst:.2f}.", "", "Reproduce: `make bench-e2e`"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
