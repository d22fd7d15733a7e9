"""Calibrated confidence for the quality model: what its card's `calibration` block says, applied.

Three things fitted on validation mosaics (inference.evaluation.calibration fits them) travel with
the weights:
- a temperature T: the probability map is sigmoid(logit(p) / T), so that of the pixels called
  uninformative with probability 0.8, about 80 % are;
- a minimum region area in µm²: uninformative regions smaller than it are dropped from the mask
  (scattered specks were the main false positives on unseen phantom families), 0 to keep all;
- an interval for the % uninformative: normalised split-conformal quantiles of the signed error
  (truth - estimate) / scale, where the scale grows with the map's own uncertainty, so a mosaic
  with many pixels near 0.5 gets a wider interval than a clear-cut one.

A card without the block is used as it was trained: T = 1, no area filter, no interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

EPSILON = 1e-6
# scale = FLOOR + UNSURE_WEIGHT * (% of the region's pixels with p inside UNSURE_BAND) + RELATIVE * estimate
SCALE_FLOOR = 0.5
UNSURE_BAND = (0.25, 0.75)
UNSURE_WEIGHT = 1.0
RELATIVE = 0.1


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    min_region_um2: float = 0.0
    interval_low: float | None = None  # quantile of (truth - estimate) / scale
    interval_high: float | None = None
    coverage: float = 0.95

    @classmethod
    def from_card(cls, card: dict) -> Calibration:
        block = card.get("calibration") or {}
        interval = block.get("interval") or {}
        return cls(temperature=float(block.get("temperature", 1.0)),
                   min_region_um2=float(block.get("min_region_um2", 0.0)),
                   interval_low=interval.get("q_low"), interval_high=interval.get("q_high"),
                   coverage=float(interval.get("coverage", 0.95)))

    @property
    def has_interval(self) -> bool:
        return self.interval_low is not None and self.interval_high is not None


def temperature_scaled(probability: np.ndarray, temperature: float) -> np.ndarray:
    """sigmoid(logit(p) / T), in float32; T = 1 returns the map unchanged."""
    if temperature == 1.0:
        return probability
    p = np.clip(probability.astype(np.float64), EPSILON, 1 - EPSILON)
    logit = np.log(p) - np.log1p(-p)
    return (1.0 / (1.0 + np.exp(-logit / temperature))).astype(np.float32)


def without_small_regions(mask: np.ndarray, *, min_area_px: float) -> np.ndarray:
    """The mask less its 8-connected regions smaller than `min_area_px` pixels."""
    if min_area_px <= 1 or not mask.any():
        return mask
    labelled, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labelled.ravel(), minlength=count + 1)
    keep = sizes >= min_area_px
    keep[0] = False
    return keep[labelled]


def error_scale(probability: np.ndarray, region: np.ndarray, *, estimate_percent: float) -> float:
    """How wide this mosaic's interval should be, before the fitted quantiles: the share of its
    region the map is unsure of (p between 0.25 and 0.75: pixels a small change would flip), plus
    a part that grows with the estimate (larger areas have longer, less certain borders)."""
    inside = probability[region]
    unsure = 100.0 * float(np.mean((inside > UNSURE_BAND[0]) & (inside < UNSURE_BAND[1]))) if inside.size else 0.0
    return SCALE_FLOOR + UNSURE_WEIGHT * unsure + RELATIVE * estimate_percent


def percent_interval(probability: np.ndarray, region: np.ndarray, *, estimate_percent: float,
                     calibration: Calibration) -> tuple[float, float] | None:
    """The interval (low, high) in % for the uninformative share of `region`, at the card's coverage;
    None when the card has no fitted interval or the region is empty."""
    if not calibration.has_interval or not region.any():
        return None
    scale = error_scale(probability, region, estimate_percent=estimate_percent)
    low = estimate_percent + calibration.interval_low * scale
    high = estimate_percent + calibration.interval_high * scale
    return round(float(np.clip(min(low, estimate_percent), 0, 100)), 2), round(float(np.clip(max(high, estimate_percent), 0, 100)), 2)
