"""Quality metrics of Kose et al. 2020, on boolean masks at one resolution.

Percentages are of the imaged area only (`valid`: padding and outside-mosaic pixels excluded).
Regions are reported in the coordinates of the original, full-resolution mosaic (`scale` = full
pixels per working pixel), so they can be drawn on it or sent to a reader as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage


def _bool(mask) -> np.ndarray:
    return np.asarray(mask, dtype=bool)


def percent_uninformative(mask, valid) -> float:
    """% of the imaged area that is uninformative (0 when nothing is imaged)."""
    mask, valid = _bool(mask), _bool(valid)
    area = valid.sum()
    return float(100.0 * (mask & valid).sum() / area) if area else 0.0


def percent_uninformative_in_lesion(mask, valid, lesion) -> float | None:
    """% of the imaged lesion area that is uninformative; None when the lesion is not imaged at all."""
    region = _bool(valid) & _bool(lesion)
    return percent_uninformative(mask, region) if region.any() else None


@dataclass(frozen=True)
class PixelAgreement:
    sensitivity: float
    specificity: float
    dice: float
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int


def pixel_agreement(predicted, expected, valid=None) -> PixelAgreement:
    """Pixel counts of predicted vs expected uninformative over the imaged area.
    Sensitivity (specificity) is 1 when there is nothing positive (negative) to find."""
    predicted, expected = _bool(predicted), _bool(expected)
    valid = np.ones_like(predicted) if valid is None else _bool(valid)
    tp = int((predicted & expected & valid).sum())
    fp = int((predicted & ~expected & valid).sum())
    fn = int((~predicted & expected & valid).sum())
    tn = int((~predicted & ~expected & valid).sum())
    sensitivity = tp / (tp + fn) if tp + fn else 1.0
    specificity = tn / (tn + fp) if tn + fp else 1.0
    dice = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return PixelAgreement(sensitivity, specificity, dice, tp, fp, fn, tn)


@dataclass(frozen=True)
class Region:
    area_px: int  # at full resolution
    area_mm2: float | None
    bbox: tuple[int, int, int, int]  # x, y, width, height at full resolution
    centroid: tuple[float, float]  # x, y at full resolution


def regions(mask, *, scale: float = 1.0, pixel_spacing_um: float | None = None, min_area_px: int = 1) -> list[Region]:
    """Connected uninformative regions (8-connectivity), largest first."""
    labels, count = ndimage.label(_bool(mask), structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    areas = ndimage.sum_labels(np.ones_like(labels), labels, index)
    centroids = ndimage.center_of_mass(np.ones_like(labels), labels, index)
    found = []
    for label, (slice_y, slice_x), area, (cy, cx) in zip(index, ndimage.find_objects(labels), areas, centroids):
        if area < min_area_px:
            continue
        full_area = int(round(area * scale * scale))
        found.append(Region(
            area_px=full_area,
            area_mm2=full_area * (pixel_spacing_um / 1000) ** 2 if pixel_spacing_um else None,
            bbox=(int(slice_x.start * scale), int(slice_y.start * scale),
                  int((slice_x.stop - slice_x.start) * scale), int((slice_y.stop - slice_y.start) * scale)),
            centroid=(float((cx + 0.5) * scale), float((cy + 0.5) * scale)),
        ))
    return sorted(found, key=lambda region: region.area_px, reverse=True)


def confidence(probability, valid) -> float:
    """Mean certainty |2p - 1| over the imaged area: 1 when every pixel is called with p of 0 or 1,
    0 when every pixel is a coin toss."""
    probability, valid = np.asarray(probability, dtype=np.float32), _bool(valid)
    return float(np.abs(2 * probability[valid] - 1).mean()) if valid.any() else 0.0


def regions_as_dicts(found: list[Region]) -> list[dict]:
    return [asdict(region) for region in found]
