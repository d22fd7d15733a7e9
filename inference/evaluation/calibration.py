"""Fitting and checking the quality model's calibration (what serving.calibration applies).

On validation mosaics the model did not train on: the temperature that minimises the pixels'
negative log-likelihood (Guo et al. 2017, "On calibration of modern neural networks"); the minimum
region area (from a few candidates) with the best pooled Dice; and the split-conformal quantiles of
the normalised signed error of the % uninformative (Lei et al. 2018, "Distribution-free predictive
inference for regression"), which give each mosaic its interval. The reliability diagram and the
expected calibration error (ECE, equal-width bins of the predicted probability, weighted by pixel
count) say whether the map's probabilities mean what they say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..serving import metrics
from ..serving.calibration import (EPSILON, Calibration, error_scale, percent_interval, temperature_scaled,
                                   without_small_regions)
from ..serving.quality import THRESHOLD

AREA_CANDIDATES_UM2 = (0.0, 100.0, 250.0, 500.0, 1000.0, 2000.0)


@dataclass(frozen=True)
class Prediction:
    """The model's uncalibrated map of one labelled mosaic, at the working spacing."""

    raw: np.ndarray  # float32 probability
    truth: np.ndarray  # bool, uninformative
    valid: np.ndarray  # bool, imaged area


class Reliability:
    """Pixel counts per bin of predicted probability, accumulated mosaic by mosaic."""

    def __init__(self, bins: int = 10):
        self.bins = bins
        self.count = np.zeros(bins, dtype=np.int64)
        self.probability_sum = np.zeros(bins)
        self.positive = np.zeros(bins, dtype=np.int64)

    def add(self, probability: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> None:
        p, y = probability[valid].astype(np.float64), truth[valid]
        index = np.minimum((p * self.bins).astype(np.int64), self.bins - 1)
        self.count += np.bincount(index, minlength=self.bins)
        self.probability_sum += np.bincount(index, weights=p, minlength=self.bins)
        self.positive += np.bincount(index, weights=y.astype(np.float64), minlength=self.bins).astype(np.int64)

    @property
    def ece(self) -> float:
        total = int(self.count.sum())
        filled = self.count > 0
        gaps = np.abs(self.positive[filled] / self.count[filled] - self.probability_sum[filled] / self.count[filled])
        return float((gaps * self.count[filled]).sum() / total) if total else 0.0

    def diagram(self) -> list[dict]:
        """One row per non-empty bin: its range, pixel count, mean predicted and observed share."""
        rows = []
        for b in range(self.bins):
            if self.count[b]:
                rows.append({"low": round(b / self.bins, 3), "high": round((b + 1) / self.bins, 3),
                             "pixels": int(self.count[b]),
                             "mean_probability": round(float(self.probability_sum[b] / self.count[b]), 4),
                             "observed": round(float(self.positive[b] / self.count[b]), 4)})
        return rows


def fit_temperature(predictions: list[Prediction], *, pixels_per_mosaic: int = 200_000, seed: int = 0) -> float:
    """The T in sigmoid(logit / T) that minimises the negative log-likelihood of a pixel sample."""
    rng = np.random.default_rng(seed)
    logits, targets = [], []
    for prediction in predictions:
        index = np.flatnonzero(prediction.valid)
        if index.size > pixels_per_mosaic:
            index = rng.choice(index, pixels_per_mosaic, replace=False)
        p = np.clip(prediction.raw.ravel()[index].astype(np.float64), EPSILON, 1 - EPSILON)
        logits.append(np.log(p) - np.log1p(-p))
        targets.append(prediction.truth.ravel()[index].astype(np.float64))
    z, y = np.concatenate(logits), np.concatenate(targets)

    def nll(log_t: float) -> float:
        s = z / math.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - y * s))  # -log sigmoid(s) for y=1, -log(1-sigmoid) for 0

    found = optimize.minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return round(math.exp(found.x), 4)


def _mask(probability: np.ndarray, valid: np.ndarray, *, min_area_px: float) -> np.ndarray:
    return without_small_regions((probability >= THRESHOLD) & valid, min_area_px=min_area_px)


def choose_min_region(predictions: list[Prediction], *, temperature: float, spacing_um: float,
                      candidates_um2: tuple[float, ...] = AREA_CANDIDATES_UM2) -> tuple[float, dict[str, float]]:
    """The candidate minimum area (µm²) with the best pooled Dice, and the Dice of each."""
    dice = {}
    for area in candidates_um2:
        tp = fp = fn = 0
        for prediction in predictions:
            mask = _mask(temperature_scaled(prediction.raw, temperature), prediction.valid,
                         min_area_px=area / spacing_um ** 2)
            agreement = metrics.pixel_agreement(mask, prediction.truth, prediction.valid)
            tp, fp, fn = tp + agreement.true_positive, fp + agreement.false_positive, fn + agreement.false_negative
        dice[str(area)] = round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 1.0
    best = max(candidates_um2, key=lambda area: (dice[str(area)], -area))
    return best, dice


def conformal_quantiles(residuals: list[float], *, coverage: float) -> tuple[float, float]:
    """Split-conformal (finite-sample) lower and upper quantiles of normalised signed errors."""
    r = np.sort(np.asarray(residuals, dtype=np.float64))
    n, tail = r.size, (1.0 - coverage) / 2.0
    low = max(math.floor((n + 1) * tail) - 1, 0)
    high = min(math.ceil((n + 1) * (1.0 - tail)) - 1, n - 1)
    return round(float(r[low]), 4), round(float(r[high]), 4)


def normalised_errors(predictions: list[Prediction], *, temperature: float, min_area_px: float) -> list[float]:
    """(truth % - estimated %) / error_scale for each mosaic."""
    found = []
    for prediction in predictions:
        probability = temperature_scaled(prediction.raw, temperature)
        estimate = metrics.percent_uninformative(_mask(probability, prediction.valid, min_area_px=min_area_px),
                                                 prediction.valid)
        truth = metrics.percent_uninformative(prediction.truth, prediction.valid)
        found.append((truth - estimate) / error_scale(probability, prediction.valid, estimate_percent=estimate))
    return found


def fit_calibration(predictions: list[Prediction], *, spacing_um: float, coverage: float = 0.95,
                    interval_predictions: list[Prediction] | None = None) -> dict:
    """The card's `calibration` block, fitted on `predictions` (the interval on `interval_predictions`
    when given: errors on mosaics unlike the training data make an interval that holds on them)."""
    temperature = fit_temperature(predictions)
    area, dice = choose_min_region(predictions, temperature=temperature, spacing_um=spacing_um)
    errors = normalised_errors(interval_predictions or predictions, temperature=temperature,
                               min_area_px=area / spacing_um ** 2)
    q_low, q_high = conformal_quantiles(errors, coverage=coverage)
    before, after = Reliability(), Reliability()
    for prediction in predictions:
        before.add(prediction.raw, prediction.truth, prediction.valid)
        after.add(temperature_scaled(prediction.raw, temperature), prediction.truth, prediction.valid)
    return {
        "temperature": temperature, "min_region_um2": area, "dice_by_min_region_um2": dice,
        "interval": {"coverage": coverage, "q_low": q_low, "q_high": q_high, "mosaics": len(errors),
                     "method": "split conformal on (truth - estimate) / scale; scale = 0.5 + % of the region "
                               "with 0.25 < p < 0.75 + 0.1 x estimate (inference/serving/calibration.py)"},
        "fitted_on_mosaics": len(predictions),
        "ece_before": round(before.ece, 4), "ece_after": round(after.ece, 4),
    }


def interval_covers(prediction: Prediction, calibration: Calibration, *, spacing_um: float) -> bool | None:
    """Whether the mosaic's interval holds its true %; None without an interval."""
    probability = temperature_scaled(prediction.raw, calibration.temperature)
    estimate = metrics.percent_uninformative(
        _mask(probability, prediction.valid, min_area_px=calibration.min_region_um2 / spacing_um ** 2), prediction.valid)
    interval = percent_interval(probability, prediction.valid, estimate_percent=estimate, calibration=calibration)
    if interval is None:
        return None
    truth = metrics.percent_uninformative(prediction.truth, prediction.valid)
    return interval[0] - 0.005 <= truth <= interval[1] + 0.005  # the interval is rounded to 0.01
