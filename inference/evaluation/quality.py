"""Evaluating the quality model on a labelled folder, with the paper's metrics: pooled pixel
sensitivity, specificity and Dice over the imaged area, and the per-image error of the %
uninformative (whole mosaic, and within the lesion where a lesion mask is given)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.mosaic_folders import load_folder
from ..serving import metrics
from ..serving.quality import analyse_pixels
from ..serving.registry import LoadedModel


def evaluate_quality(model: LoadedModel, data: Path, *, default_spacing_um: float | None = None) -> dict:
    """The metrics of the model's masks against a labelled folder's, as the card's `metrics` carry them."""
    samples = load_folder(data, working_spacing_um=model.card.input["pixel_spacing_um"],
                          default_spacing_um=default_spacing_um)
    counts = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
    whole_errors, lesion_errors = [], []
    for sample in samples:
        result = analyse_pixels(model, sample.image, valid=sample.valid, lesion=sample.lesion)
        agreement = metrics.pixel_agreement(result.mask, sample.mask, sample.valid)
        counts += [agreement.true_positive, agreement.false_positive, agreement.false_negative, agreement.true_negative]
        whole_errors.append(abs(result.percent_uninformative - metrics.percent_uninformative(sample.mask, sample.valid)))
        if sample.lesion is not None:
            expected = metrics.percent_uninformative_in_lesion(sample.mask, sample.valid, sample.lesion)
            if expected is not None and result.percent_uninformative_lesion is not None:
                lesion_errors.append(abs(result.percent_uninformative_lesion - expected))
    tp, fp, fn, tn = (int(v) for v in counts)
    return {
        "images": len(samples),
        "pixel_sensitivity": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "pixel_specificity": round(tn / (tn + fp), 4) if tn + fp else 1.0,
        "dice": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 1.0,
        "percent_uninformative_mae": round(float(np.mean(whole_errors)), 3),
        "percent_uninformative_max_error": round(float(np.max(whole_errors)), 3),
        "percent_uninformative_lesion_mae": round(float(np.mean(lesion_errors)), 3) if lesion_errors else None,
    }
