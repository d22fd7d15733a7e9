"""Measuring the lesion segmentation as the ISIC 2018 lesion segmentation challenge does: per image
Jaccard index of the thresholded, post-processed mask against the image's mask at the mask's own
size, averaged; the "thresholded Jaccard" counts every image below 0.65 as 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets import ham10000
from ..serving.lesion_segmentation import MODEL_NAME, segment


def jaccard(predicted: np.ndarray, expected: np.ndarray) -> float:
    """Intersection over union of two masks (1 when both are empty)."""
    union = np.count_nonzero(predicted | expected)
    return float(np.count_nonzero(predicted & expected)) / union if union else 1.0


def scores(jaccards: list[float]) -> dict:
    """The card's figures of per-image Jaccard indices."""
    values = np.asarray(jaccards, dtype=np.float64)
    dice = 2 * values / (1 + values)
    return {
        "images": int(values.size),
        "jaccard_mean": round(float(values.mean()), 4),
        "jaccard_thresholded": round(float(np.where(values < 0.65, 0.0, values).mean()), 4),
        "dice_mean": round(float(dice.mean()), 4),
        "jaccard_median": round(float(np.median(values)), 4),
        "below_0_65": int((values < 0.65).sum()),
    }


def evaluate(predict, root: Path, records) -> dict:
    """Per-image Jaccard of `segment` against the image's mask, at the mask's own size."""
    if not records:
        raise ham10000.DataInvalid("no rows to measure (is --split right?)")
    ids = [r.image_id for r in records]
    images, masks = ham10000.find_images(root, ids), ham10000.find_masks(root, ids)
    jaccards = []
    for record in records:
        rgb = ham10000.load_rgb(images[record.image_id])
        expected = ham10000.load_mask(masks[record.image_id], (rgb.shape[1], rgb.shape[0]))
        predicted, _ = segment(predict, rgb)
        jaccards.append(jaccard(predicted, expected))
    return scores(jaccards)


def evaluate_shipped(registry, *, data: Path, records, name: str | None = None, backend: str = "auto") -> dict:
    """evaluate() with the registered model, saying which model, backend and data were measured."""
    model = registry.load(name or MODEL_NAME, backend=backend)
    found = evaluate(model.predict, Path(data), records)
    found["measured_with"] = {"backend": model.backend, "device": model.device, "data": str(data),
                              "model": f"{model.card.name} {model.card.version}"}
    return found
