"""Getting an image to the network: a mosaic read at the working pixel spacing, normalised, its imaged
area found; a dermoscopy image normalised as the Lite0 encoder was pretrained.

Reading goes through libvips' thumbnail (shrink-on-load for JPEG, streamed for the rest), so a
144-megapixel mosaic at 0.5 µm/px becomes a 2-megapixel array at 4 µm/px without ever being held
at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvips
from scipy import ndimage

from .image_source import open_image, thumbnail

MEAN, STD = 0.45, 0.25  # of [0, 1] intensities; recorded in each model card's input spec
WINDOW_PERCENTILES = (0.5, 99.5)


def display_window(image: pyvips.Image, percentiles: tuple[float, float] = WINDOW_PERCENTILES) -> tuple[float, float]:
    """The intensity range holding the given percentiles, from one streaming histogram pass (so it
    works on sequential images): how images with more than 8 bits are mapped to 0..255."""
    if image.format not in ("uchar", "ushort"):  # float or 32-bit data: its full range, in one pass
        statistics = image.stats()  # row 0 holds all bands together: minimum, maximum, ...
        low, high = statistics.getpoint(0, 0)[0], statistics.getpoint(1, 0)[0]
        return float(low), float(max(high, low + 1))
    histogram = image.hist_find()  # all bands counted together
    counts = np.frombuffer(histogram.write_to_memory(), dtype=np.uint32).reshape(-1, histogram.bands).sum(axis=1)
    cumulative = np.cumsum(counts, dtype=np.float64) / counts.sum()
    low, high = (float(np.searchsorted(cumulative, p / 100)) for p in percentiles)
    return low, max(high, low + 1)


def apply_window(image: pyvips.Image, window: tuple[float, float]) -> pyvips.Image:
    low, high = window
    return ((image - low) * (255.0 / (high - low))).cast("uchar")  # cast clips to 0..255


@dataclass(frozen=True)
class WorkingImage:
    pixels: np.ndarray  # uint8 H x W at the working spacing
    scale: float  # full-resolution pixels per working pixel
    full_size: tuple[int, int]  # width, height of the original


def read_at_spacing(path: str, *, source_spacing_um: float, working_spacing_um: float,
                    crop: tuple[int, int, int, int] | None = None) -> WorkingImage:
    """The image (or its `crop` [x, y, width, height], e.g. without a device's caption strip) at the
    working spacing, as 8-bit grey. `scale` and `full_size` refer to the cropped area."""
    header = open_image(path)
    full_width, full_height = (crop[2], crop[3]) if crop else (header.width, header.height)
    scale = max(working_spacing_um / source_spacing_um, 1.0)
    width, height = max(1, round(full_width / scale)), max(1, round(full_height / scale))
    if header.format == "uchar" and scale > 1 and not crop:
        image = thumbnail(path, width, height=height, size="force")  # shrink-on-load
    else:  # thumbnail would squash more than 8 bits to 8 before the window: resize at full depth
        image = open_image(path)
        if crop:
            image = image.crop(*crop)
        if scale > 1:
            image = image.resize(width / full_width, vscale=height / full_height)
    if image.hasalpha():
        image = image.flatten()
    if image.bands > 1:
        image = image.colourspace("b-w")[0] if image.bands >= 3 else image[0]
    if image.format != "uchar":
        image = image.copy_memory()  # at the working spacing: small, and read twice below
        image = apply_window(image, display_window(image))
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width)).copy()
    return WorkingImage(pixels=pixels, scale=full_width / image.width, full_size=(full_width, full_height))


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 → float32, standardised as the network was trained."""
    return ((pixels.astype(np.float32) / 255.0) - MEAN) / STD


def estimate_valid(pixels: np.ndarray, *, min_padding_px: int = 64) -> np.ndarray:
    """The imaged area: everything but exact-zero padding connected to the border (stitching
    software pads irregular mosaics with 0; tissue, even 'no contact' tissue, is noisy, not 0)."""
    zero = pixels == 0
    labels, count = ndimage.label(zero)
    if count == 0:
        return np.ones_like(zero)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    sizes = ndimage.sum_labels(zero, labels, np.arange(count + 1))
    padding_labels = [label for label in border if label and sizes[label] >= min_padding_px]
    return ~np.isin(labels, padding_labels)


def to_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 (N,) H x W x 3 → float32 (N,) 3 x H x W, normalised as the Lite0 encoder was pretrained."""
    from ..networks.efficientnet_lite import MEAN, STD  # here, not above: that module imports torch, mosaics need none

    x = (rgb.astype(np.float32) / 255.0 - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))
