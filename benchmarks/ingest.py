"""Ingest benchmark: a 12000x12000 8-bit RCM mosaic as JPEG, TIFF and BMP, from upload complete
(the bytes staged on the server) to pyramid ready (verified, stored, row committed, derived into a
Deep Zoom pyramid and thumbnail), against libvips' dzsave alone on the same file, in the same run.

Each measurement runs in a fresh process so its peak resident memory (ru_maxrss) is its own.
Usage: python benchmarks/ingest.py [--repeats 3] [--size 12000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
DZ_OPTIONS = dict(tile_size=254, overlap=1, suffix=".jpeg[Q=85,keep=none]", layout="dz", keep="none")


def make_mosaic(size: int, folder: Path) -> dict[str, Path]:
    """A grayscale mosaic with RCM-like texture (speckle over smooth structure), in each format."""
    import pyvips
    from PIL import Image as PILImage

    x = pyvips.Image.xyz(size, size)
    image = ((x[0] * 0.013).sin() * 35 + (x[1] * 0.021).cos() * 35 + 110
             + pyvips.Image.gaussnoise(size, size, sigma=18)).cast("uchar")
    paths = {"jpeg": folder / "mosaic.jpg", "tiff": folder / "mosaic.tif", "bmp": folder / "mosaic.bmp"}
    image.jpegsave(str(paths["jpeg"]), Q=90)
    image.tiffsave(str(paths["tiff"]))  # uncompressed strips, as RCM devices write them
    PILImage.frombuffer("L", (size, size), image.write_to_memory(), "raw", "L", 0, 1).save(paths["bmp"])
    return paths


def run_baseline(source: str, work: str) -> float:
    import pyvips

    started = time.perf_counter()
    if source.endswith(".bmp"):  # the pyvips-binary build has no BMP loader: Pillow decodes, libvips saves
        from PIL import Image as PILImage

        with PILImage.open(source) as im:
            image = pyvips.Image.new_from_memory(im.tobytes(), im.width, im.height, len(im.getbands()), "uchar")
    else:
        image = pyvips.Image.new_from_file(source, access="sequential")
    image.dzsave(os.path.join(work, "pyramid"), **DZ_OPTIONS)
    return time.perf_counter() - started


def run_ours(source: str, work: str) -> float:
    os.environ.update({"DERMRELAY_VAR_DIR": work, "DJANGO_SETTINGS_MODULE": "dermrelay.settings"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from dermrelay.accounts.models import Role
    from dermrelay.cases import services
    from dermrelay.cases.models import ImageKind
    from dermrelay.cases.uploads import stage_stream
    from dermrelay.imaging.models import DerivationJob
    from dermrelay.imaging.services import derivation_run
    from dermrelay.jobs.services import job_run
    from tests.factories import make_case, make_site, make_user

    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    case = make_case(site=site, actor=tech)
    with open(source, "rb") as handle:
        staged = stage_stream(handle)  # the upload is complete: its bytes are on the server
    started = time.perf_counter()
    image, created = services.image_create(actor=tech, case=case, staged=staged, kind=ImageKind.RCM_MOSAIC,
                                           depth_level="dej")
    job = DerivationJob.objects.get(image=image)  # what the ingest worker runs when the message arrives
    assert created and job_run(model=DerivationJob, job_id=job.pk, work=derivation_run) == "succeeded"
    return time.perf_counter() - started


def child(mode: str, source: str) -> None:
    work = tempfile.mkdtemp(prefix=f"bench-{mode}-")
    try:
        seconds = (run_baseline if mode == "baseline" else run_ours)(source, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb}))


def measure(mode: str, source: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(source)], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": f"{REPO / 'platform'}:{REPO}"})
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=12000)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    from benchmarks.common import versions, write_result

    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        sources = make_mosaic(args.size, folder)
        figures, ratios, peaks = {}, {}, {}
        for fmt, source in sources.items():
            runs = {mode: [measure(mode, source) for _ in range(args.repeats)] for mode in ("baseline", "ours")}
            ours = statistics.median(r["seconds"] for r in runs["ours"])
            base = statistics.median(r["seconds"] for r in runs["baseline"])
            peaks[fmt] = max(r["peak_rss_mb"] for r in runs["ours"])
            ratios[fmt] = ours / base
            figures.update({
                f"{fmt}_file_mb": round(source.stat().st_size / 1e6, 1),
                f"{fmt}_ours_median_s": round(ours, 2), f"{fmt}_libvips_dzsave_median_s": round(base, 2),
                f"{fmt}_ratio": round(ratios[fmt], 3), f"{fmt}_ours_peak_rss_mb": round(peaks[fmt]),
                f"{fmt}_libvips_peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs["baseline"])),
            })
            print(fmt, json.dumps({k: v for k, v in figures.items() if k.startswith(fmt)}), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    worst = max(ratios.values())
    meets = worst <= 1.3 and max(peaks.values()) <= 600
    lines = [f"# Ingest: {args.size}x{args.size} 8-bit mosaic, upload complete → pyramid ready", "",
             f"Median of {args.repeats} runs each, fresh process per run (peak RSS is the whole process, Django included).", "",
             "| format | file MB | ours s | libvips dzsave alone s | ratio | our peak RSS MB |", "| --- | --- | --- | --- | --- | --- |"]
    for fmt in sources:
        lines.append(f"| {fmt} | {figures[f'{fmt}_file_mb']} | {figures[f'{fmt}_ours_median_s']} | "
                     f"{figures[f'{fmt}_libvips_dzsave_median_s']} | {figures[f'{fmt}_ratio']} | {figures[f'{fmt}_ours_peak_rss_mb']} |")
    lines += ["", f"Target: ≤ 1.3x libvips alone and ≤ 600 MB peak. Worst ratio {worst:.2f}: "
              f"{'met' if meets else 'NOT met'}.", "", "Reproduce: `make bench-ingest`"]
    path = write_result(
        benchmark="ingest", figures=figures, baseline="pyvips dzsave of the same file with the same tile options, alone",
        ratio=worst, target="ratio <= 1.3 (worst format) and peak RSS <= 600 MB", meets_target=meets,
        versions_=versions("pyvips", "pyvips-binary", "pillow", "django", extra={"libvips": _libvips()}),
        summary="\n".join(lines),
    )
    print(f"wrote {path}")


def _libvips() -> str:
    import pyvips

    return f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"


if __name__ == "__main__":
    main()
