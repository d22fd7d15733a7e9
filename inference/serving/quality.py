"""The RCM quality analysis: uninformative-area mask and the paper's numbers for one mosaic."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics
from .calibration import Calibration, percent_interval, temperature_scaled, without_small_regions
from .preprocessing import WorkingImage, estimate_valid, normalise, read_at_spacing
from .registry import LoadedModel
from .tiling import sliding_window

THRESHOLD = 0.5


@dataclass
class QualityResult:
    probability: np.ndarray  # float32 at the working spacing
    mask: np.ndarray  # bool, uninformative
    valid: np.ndarray  # bool, imaged area
    scale: float  # full-resolution pixels per working pixel
    working_spacing_um: float
    percent_uninformative: float
    percent_uninformative_lesion: float | None
    confidence: float
    regions: list[dict] = field(default_factory=list)
    percent_interval: tuple[float, float] | None = None  # at the card's coverage (serving.calibration)
    percent_interval_lesion: tuple[float, float] | None = None


def analyse_pixels(model: LoadedModel, pixels: np.ndarray, *, scale: float = 1.0, lesion: np.ndarray | None = None,
                   source_spacing_um: float | None = None, valid: np.ndarray | None = None) -> QualityResult:
    """Quality of an image already at the model's working spacing (uint8 H x W), with the card's
    calibration applied (temperature, minimum region area, interval of the %)."""
    spec = model.card.input
    calibration = Calibration.from_card(model.card.data)
    valid = estimate_valid(pixels) if valid is None else valid.astype(bool)
    raw = sliding_window(model.predict, normalise(pixels), tile=spec["tile"], overlap=spec["overlap"],
                         batch_size=spec.get("batch_size", 4))
    probability = temperature_scaled(raw, calibration.temperature)
    spacing = spec["pixel_spacing_um"]
    mask = without_small_regions((probability >= THRESHOLD) & valid,
                                 min_area_px=calibration.min_region_um2 / spacing ** 2)
    whole = metrics.percent_uninformative(mask, valid)
    in_lesion = None if lesion is None else metrics.percent_uninformative_in_lesion(mask, valid, lesion)
    return QualityResult(
        probability=probability, mask=mask, valid=valid, scale=scale, working_spacing_um=spacing,
        percent_uninformative=whole, percent_uninformative_lesion=in_lesion,
        confidence=metrics.confidence(probability, valid),
        regions=metrics.regions_as_dicts(metrics.regions(
            mask, scale=scale, pixel_spacing_um=source_spacing_um, min_area_px=4)),
        percent_interval=percent_interval(probability, valid, estimate_percent=whole, calibration=calibration),
        percent_interval_lesion=None if in_lesion is None else percent_interval(
            probability, valid & lesion, estimate_percent=in_lesion, calibration=calibration),
    )


def analyse_file(model: LoadedModel, path: str, *, source_spacing_um: float, lesion: np.ndarray | None = None) -> QualityResult:
    """Quality of a mosaic file of any size; `lesion` (if given) is at the working spacing."""
    working: WorkingImage = read_at_spacing(path, source_spacing_um=source_spacing_um,
                                            working_spacing_um=model.card.input["pixel_spacing_um"])
    return analyse_pixels(model, working.pixels, scale=working.scale, lesion=lesion, source_spacing_um=source_spacing_um)


def write_full_resolution_mask(result: QualityResult, path: str, *, full_size: tuple[int, int]) -> None:
    """The uninformative mask at the original mosaic's pixel grid (0/255 PNG or TIFF by suffix),
    upsampled by libvips while it is written, so a 144-megapixel mask never sits in memory."""
    import pyvips

    mask = np.ascontiguousarray(result.mask.astype(np.uint8) * 255)
    small = pyvips.Image.new_from_memory(mask.data, mask.shape[1], mask.shape[0], 1, "uchar")
    width, height = full_size
    full = small.resize(width / small.width, vscale=height / small.height, kernel="nearest")
    full.crop(0, 0, min(width, full.width), min(height, full.height)).write_to_file(path)


def field_map(model: LoadedModel, pixels: np.ndarray, *, field_px: int):
    """Uninformative share per capture field (a square of `field_px` working pixels, e.g. the
    VivaScope's 0.5 mm field) through the patch-map machinery of the body-region maps: MED-Net is
    the RCM patch scorer, run on each field alone. Fields less than half imaged are left out.
    Returns a patch_map.PatchMap with one score per field (0 informative … 1 uninformative)."""
    from .patch_map import grid_for, patch_map

    spec = model.card.input

    def score(patches: list[np.ndarray]) -> np.ndarray:
        found = []
        for patch in patches:
            probability = sliding_window(model.predict, normalise(patch), tile=spec["tile"], overlap=spec["overlap"],
                                         batch_size=spec.get("batch_size", 4))
            imaged = estimate_valid(patch)
            found.append([float((probability >= THRESHOLD)[imaged].mean()) if imaged.any() else 0.0])
        return np.asarray(found)

    grid = grid_for(width=pixels.shape[1], height=pixels.shape[0], patch=(field_px, field_px), overlap=0.0)
    return patch_map(pixels, grid=grid, score=score, keep=lambda patch: estimate_valid(patch).mean() >= 0.5)
