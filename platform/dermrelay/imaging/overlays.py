"""Overlays drawn over an image's deep-zoom pyramid: colour-coded label maps written as their own
Deep Zoom pyramids of semi-transparent PNG tiles.

An overlay pyramid is the image pyramid cut off at the level whose resolution is that of the
labels: an overlay with `level_offset` s has the size of the image's level max_level - s, so its
tile (level k, col, row) covers exactly the area of the image's tile (k, col, row) for every level
it has. A viewer adds it as a second tiled image of the same width; above its top level the viewer
magnifies its top level, which is all the detail the labels have.
"""

from __future__ import annotations

import math
import shutil
import uuid
from dataclasses import dataclass

import numpy as np
import pyvips

from dermrelay.storage import folder_publish, prefix_delete, work_dir

TILE_SIZE = 254
TILE_OVERLAP = 1
OVERLAY_NAME = "overlay"
KINDS = ("quality", "projection", "agreement", "body_region")


@dataclass(frozen=True)
class OverlayPyramid:
    prefix: str
    width: int
    height: int
    level_offset: int


def level_offset_for(*, image_width: int, labels_width: int) -> int:
    """How many levels below the image's top the labels' resolution sits (never finer than the image)."""
    if labels_width >= image_width:
        return 0
    return max(0, math.floor(math.log2(image_width / labels_width) + 0.02))  # 3.99x (rounding) is 2 levels


def level_size(*, image_width: int, image_height: int, level_offset: int) -> tuple[int, int]:
    """Deep Zoom's size of the level `level_offset` below the top: each level halves, rounding up."""
    factor = 2 ** level_offset
    return math.ceil(image_width / factor), math.ceil(image_height / factor)


def colourise(labels: np.ndarray, palette: dict[int, tuple[int, int, int, int]]) -> np.ndarray:
    """uint8 label map → RGBA; labels missing from the palette are transparent."""
    lut = np.zeros((256, 4), np.uint8)
    for label, rgba in palette.items():
        lut[label] = rgba
    return lut[labels]


def overlay_write(*, rgba: np.ndarray, image_width: int, image_height: int, site_id, image_id, kind: str,
                  level_offset: int | None = None) -> OverlayPyramid:
    """Write an RGBA array that covers the whole image as an overlay pyramid aligned with the image's
    pyramid; returns where it lies. Resampling is nearest-neighbour: labels stay labels."""
    if kind not in KINDS:
        raise ValueError(f"unknown overlay kind {kind!r}")
    offset = level_offset_for(image_width=image_width, labels_width=rgba.shape[1]) if level_offset is None else level_offset
    width, height = level_size(image_width=image_width, image_height=image_height, level_offset=offset)
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    small = pyvips.Image.new_from_memory(rgba.data, rgba.shape[1], rgba.shape[0], 4, "uchar").copy(interpretation="srgb")
    sized = small.resize(width / small.width, vscale=height / small.height, kernel="nearest")
    if (sized.width, sized.height) != (width, height):  # rounding of the scale: pad or trim by a pixel
        sized = sized.embed(0, 0, width, height, extend="copy")
    prefix = f"overlays/{site_id}/{image_id}/{kind}-{uuid.uuid4().hex[:12]}"
    work = work_dir()
    try:
        target = work / "overlay"
        target.mkdir()
        sized.dzsave(str(target / OVERLAY_NAME), tile_size=TILE_SIZE, overlap=TILE_OVERLAP,
                     suffix=".png[compression=3]", layout="dz", keep="none")
        (target / f"{OVERLAY_NAME}_files" / "vips-properties.xml").unlink(missing_ok=True)
        folder_publish(target, prefix)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return OverlayPyramid(prefix=prefix, width=width, height=height, level_offset=offset)


def overlay_delete(prefix: str) -> None:
    prefix_delete(prefix)
