"""Shared by the benchmarks: the machine and library versions, and the result file format
(DESIGN.md, "Files that other programs read")."""

from __future__ import annotations

import datetime
import json
import os
import platform as stdlib_platform
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), stdlib_platform.processor())
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1024**2, 1), "gpu": None,
            "os": stdlib_platform.platform()}


def versions(*packages: str, extra: dict | None = None) -> dict:
    found = {"python": stdlib_platform.python_version()}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {**found, **(extra or {})}


def write_result(*, benchmark: str, figures: dict, baseline: str, ratio: float, target: str, meets_target: bool,
                 versions_: dict, summary: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": benchmark,
        "measured_at": datetime.date.today().isoformat(),
        "machine": machine(),
        "versions": versions_,
        "figures": figures,
        "baseline": baseline,
        "ratio": round(ratio, 3),
        "target": target,
        "meets_target": bool(meets_target),
    }
    path = RESULTS_DIR / f"{benchmark}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS_DIR / f"{benchmark}.md").write_text(summary.rstrip() + "\n")
    return path
