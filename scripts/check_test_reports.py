"""Fail CI when a suite that must run did not: both suites reported, the services suite ran on
PostgreSQL with Redis, its PostgreSQL, real-worker and Redis crash tests passed with none skipped,
its fault-injection tests reported their recovery times, and the browser tests passed in both suites."""

from __future__ import annotations

import json
import sys
from pathlib import Path

FAULTS_EXPECTED = 8  # tests/faults: each injected fault that the services suite must recover from


def main(report_dir: Path) -> int:
    problems = []
    reports = {}
    for suite in ("embedded", "services"):
        path = report_dir / f"{suite}.json"
        if not path.exists():
            problems.append(f"the {suite} suite wrote no report ({path}): it did not run")
            continue
        reports[suite] = json.loads(path.read_text())
    services = reports.get("services")
    if services:
        if not services["database"].endswith("postgresql") or services["broker"] != "redis":
            problems.append(f"services suite ran on {services['database']} with broker {services['broker']}")
        for marker in ("postgres", "worker", "redis"):
            counts = services["marked"].get(marker, {})
            if not counts.get("passed") or counts.get("failed") or counts.get("skipped"):
                problems.append(f"services suite, {marker} tests: {counts or 'none ran'}")
        faults = report_dir / "faults-services.json"
        recovered = json.loads(faults.read_text()) if faults.exists() else []
        if len(recovered) < FAULTS_EXPECTED:
            problems.append(f"services suite: {len(recovered)} fault-injection tests recovered, {FAULTS_EXPECTED} expected")
        for row in recovered:
            print(f"CI: recovered in {row['recovery_seconds']:.1f} s from: {row['fault']}")
    embedded = reports.get("embedded")
    if embedded and not embedded["marked"].get("worker", {}).get("passed"):
        problems.append("embedded suite: no real-worker test passed")
    for suite, report in reports.items():  # the browser tests run in both suites, against a live server
        counts = report["marked"].get("browser", {})
        if not counts.get("passed") or counts.get("failed") or counts.get("skipped"):
            problems.append(f"{suite} suite, browser tests: {counts or 'none ran'}")
    for line in problems:
        print(f"CI: {line}")
    if not problems:
        print("CI: both suites ran; PostgreSQL and real-worker tests passed in the services suite")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
