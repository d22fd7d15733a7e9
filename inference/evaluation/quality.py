"""Evaluating the quality model on labelled folders, with the paper's metrics: pooled pixel
sensitivity, specificity and Dice over the imaged area, and the per-image error of the %
uninformative (whole mosaic, and within the lesion where a lesion mask is given), as absolute
(MAE) and signed (mean signed error: estimate - truth, > 0 when the model over-calls) error;
with the calibration the card carries: ECE and the reliability diagram of the probability map,
and how often the per-mosaic interval holds the true %."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.mosaic_folders import Sample, load_folder
from ..serving import metrics
from ..serving.preprocessing import normalise
from ..serving.quality import analyse_pixels
from ..serving.registry import LoadedModel
from ..serving.tiling import sliding_window
from .calibration import Prediction, Reliability


def samples_of(model: LoadedModel, folders: Path | list[Path], *, default_spacing_um: float | None = None) -> list[Sample]:
    """Every labelled image of the folders, at the model's working spacing."""
    folders = [folders] if isinstance(folders, (str, Path)) else folders
    return [sample for folder in folders for sample in load_folder(
        Path(folder), working_spacing_um=model.card.input["pixel_spacing_um"], default_spacing_um=default_spacing_um)]


def raw_predictions(model: LoadedModel, samples: list[Sample]) -> list[Prediction]:
    """The model's uncalibrated maps of the samples (what calibration is fitted on)."""
    spec = model.card.input
    return [Prediction(raw=sliding_window(model.predict, normalise(s.image), tile=spec["tile"], overlap=spec["overlap"],
                                          batch_size=spec.get("batch_size", 4)), truth=s.mask, valid=s.valid)
            for s in samples]


def evaluate_quality(model: LoadedModel, data: Path | list[Path], *, default_spacing_um: float | None = None) -> dict:
    """The metrics of the model's masks against labelled folders, as the card's `metrics` carry them."""
    samples = samples_of(model, data, default_spacing_um=default_spacing_um)
    counts = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
    signed, lesion_errors, covered = [], [], []
    reliability = Reliability()
    for sample in samples:
        result = analyse_pixels(model, sample.image, valid=sample.valid, lesion=sample.lesion)
        agreement = metrics.pixel_agreement(result.mask, sample.mask, sample.valid)
        counts += [agreement.true_positive, agreement.false_positive, agreement.false_negative, agreement.true_negative]
        truth = metrics.percent_uninformative(sample.mask, sample.valid)
        signed.append(result.percent_uninformative - truth)
        reliability.add(result.probability, sample.mask, sample.valid)
        if result.percent_interval is not None:
            covered.append(result.percent_interval[0] - 0.005 <= truth <= result.percent_interval[1] + 0.005)
        if sample.lesion is not None:
            expected = metrics.percent_uninformative_in_lesion(sample.mask, sample.valid, sample.lesion)
            if expected is not None and result.percent_uninformative_lesion is not None:
                lesion_errors.append(abs(result.percent_uninformative_lesion - expected))
    tp, fp, fn, tn = (int(v) for v in counts)
    errors = np.abs(signed)
    return {
        "images": len(samples),
        "pixel_sensitivity": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "pixel_specificity": round(tn / (tn + fp), 4) if tn + fp else 1.0,
        "dice": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 1.0,
        "percent_uninformative_mae": round(float(np.mean(errors)), 3),
        "percent_uninformative_mean_signed_error": round(float(np.mean(signed)), 3),
        "percent_uninformative_max_error": round(float(np.max(errors)), 3),
        "percent_uninformative_lesion_mae": round(float(np.mean(lesion_errors)), 3) if lesion_errors else None,
        "ece": round(reliability.ece, 4),
        "reliability": reliability.diagram(),
        "interval_coverage": round(float(np.mean(covered)), 3) if covered else None,
    }
