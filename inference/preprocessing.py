"""Getting a mosaic to the network: read at the working pixel spacing, normalise, find the imaged area.

Reading goes through libvips' thumbnail (shrink-on-load for JPEG, streamed for the rest), so a
144-megapixel mosaic at 0.5 µm/px becomes a 2-megapixel array at 4 µm/px without ever being held
at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvips
from scipy import ndimage

MEAN, STD = 0.45, 0.25  # of [0, 1] intensities; recorded in each model card's input spec


@dataclass(frozen=True)
class WorkingImage:
    pixels: np.ndarray  # uint8 H x W at the working spacing
    scale: float  # full-resolution pixels per working pixel
    full_size: tuple[int, int]  # width, height of the original


def read_at_spacing(path: str, *, source_spacing_um: float, working_spacing_um: float) -> WorkingImage:
    header = pyvips.Image.new_from_file(path)
    scale = max(working_spacing_um / source_spacing_um, 1.0)
    width, height = max(1, round(header.width / scale)), max(1, round(header.height / scale))
    if scale > 1:
        image = pyvips.Image.thumbnail(path, width, height=height, size="force")
    else:
        image = pyvips.Image.new_from_file(path, access="sequential")
    if image.hasalpha():
        image = image.flatten()
    if image.bands > 1:
        image = image.colourspace("b-w")[0] if image.bands >= 3 else image[0]
    if image.format != "uchar":
        image = _window_to_uchar(image)
    pixels = np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width)).copy()
    return WorkingImage(pixels=pixels, scale=header.width / image.width, full_size=(header.width, header.height))


def _window_to_uchar(image: pyvips.Image) -> pyvips.Image:
    low, high = image.percent(0.5), image.percent(99.5)
    return ((image - low) * (255.0 / max(high - low, 1))).cast("uchar")


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
