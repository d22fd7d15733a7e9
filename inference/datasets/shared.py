"""Where the shared data sets are (HAM10000, DICOM samples): outside the repository, never copied in."""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]


def shared_datasets() -> Path | None:
    """The folder of shared data sets: $DERMRELAY_DATASETS, else ../shared/datasets beside the
    checkout, else this machine's /work/shared/datasets."""
    candidates = [os.environ.get("DERMRELAY_DATASETS"), REPO_DIR.parent / "shared" / "datasets", "/work/shared/datasets"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None
