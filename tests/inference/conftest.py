"""Fixtures of the inference tests."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from inference.datasets.shared import shared_datasets

HAM10000 = (shared_datasets() or Path("../shared/datasets")) / "ham10000"


@pytest.fixture
def subset(tmp_path) -> Path:
    """24 images (16 train, 8 val) linked from HAM10000, with their metadata rows."""
    if not HAM10000.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"HAM10000 missing at {HAM10000}: CI must have ../shared/datasets")
        pytest.skip("HAM10000 not present")
    with open(HAM10000 / "metadata.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [r for r in rows if r["split"] == "train"][:16] + [r for r in rows if r["split"] == "val"][:8]
    (tmp_path / "ham" / "images").mkdir(parents=True)
    for row in chosen:
        (tmp_path / "ham" / "images" / f"{row['image_id']}.jpg").symlink_to(HAM10000 / "images" / f"{row['image_id']}.jpg")
    with open(tmp_path / "ham" / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(chosen)
    return tmp_path / "ham"
