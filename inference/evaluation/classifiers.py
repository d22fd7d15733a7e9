"""Measuring a shipped classifier as the platform runs it (the card's CPU backend, test-time flips)
on any folder of images and a CSV: what others run on data this project does not have. Model B
gets the body-region model's location where none is recorded, as in the platform."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets import ham10000
from ..serving import body_sites
from ..serving.classification import MODEL_NAMES, REGION7, TASKS, classify, location_index
from . import classification_metrics


def region_locations(body_region, images: np.ndarray) -> np.ndarray:
    """The location (index into LOCATIONS) of the body-region model's answer for each image."""
    regions = classify(body_region.predict, images).argmax(axis=1)
    return np.array([location_index(body_sites.location_from_region(REGION7[k])) for k in regions], dtype=np.int64)


def recorded_else(recorded: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, dict]:
    """Model B's locations as the platform gives them: the recorded site, else the fallback (the
    body-region model's); with how many came from where."""
    locations = np.where(recorded > 0, recorded, fallback)
    return locations, {"recorded": int((recorded > 0).sum()), "body_region_model": int(((recorded == 0) & (fallback > 0)).sum()),
                       "unknown": int((locations == 0).sum())}


def folder_report(data: ham10000.Examples, found: np.ndarray, *, task: str, rows: int, sources: dict | None = None) -> dict:
    """The metrics of one model's probabilities on a folder's examples, with the CSV rows it left out."""
    report = classification_metrics.report(data.labels, found, list(TASKS[task]["labels"]))
    report["rows_left_out"] = {f"no {TASKS[task]['field']} among the model's classes": rows - len(data.labels)}
    if sources is not None:
        report["location_sources"] = sources
    return report


def evaluate_shipped(registry, *, task: str, images: Path, csv_path: Path) -> dict:
    """Metrics of the registered model, run as the platform runs it (the card's CPU backend, test-time
    flips), on any folder of images and a CSV with image_id, dx, localization (region7 follows from
    localization when absent)."""
    records = ham10000.read_metadata(csv_path)
    data = ham10000.examples(Path(images), records, task)
    model = registry.load(MODEL_NAMES[task])
    sources = None
    if TASKS[task]["locations"]:
        fallback = np.zeros_like(data.locations)
        missing = np.flatnonzero(data.locations == 0)
        if len(missing) and (registry.cards_dir / f"{MODEL_NAMES['body-region']}.json").exists():
            fallback[missing] = region_locations(registry.load(MODEL_NAMES["body-region"]), data.images[missing])
        locations, sources = recorded_else(data.locations, fallback)
        data = ham10000.Examples(images=data.images, labels=data.labels, locations=locations, ids=data.ids)
    found = folder_report(data, classify(model.predict, data.images, data.locations), task=task, rows=len(records),
                          sources=sources)
    found["measured_with"] = {"model": f"{model.card.name} {model.card.version} ({model.backend})", "images": str(images),
                              "csv": str(csv_path)}
    return found
