"""A judged mosaic's thumbnail with the quality model's uninformative areas drawn over it, for the
QA drill-down: the reviewer sees at a glance what the number behind a row looks like.

The pixels are patient data, so qa.selectors.mosaics.mosaic_for_thumbnail decides who gets one (the case
must be one the user may open) and the view audits every one sent. The overlay is the judged run's
label map (the same labels the gate counted), scaled onto the thumbnail without smoothing; the
thumbnail and the label map both cover the viewable mosaic (caption cropped), so they line up.
"""

from __future__ import annotations

import io

import numpy as np
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from dermrelay.analysis.masks import UNINFORMATIVE
from dermrelay.gate.models import MosaicQuality
from dermrelay.analysis.runners.quality import QUALITY_PALETTE
from dermrelay.cases.models import Image, ImageFormat

MAX_SIDE = 256  # px: the listing shows them small; the viewer is for detail
ORIGINAL_AS_THUMBNAIL_MAX_SIDE = 512  # a small original (synthetic QA history) stands in for a missing thumbnail
OVERLAY_ALPHA = 0.7


def thumbnail_source(image: Image) -> str | None:
    """The stored file to draw on: the derived thumbnail, else a small PNG or JPEG original."""
    if image.thumbnail:
        return image.thumbnail.name
    small = max(image.width, image.height) <= ORIGINAL_AS_THUMBNAIL_MAX_SIDE
    if small and image.file_format in (ImageFormat.PNG, ImageFormat.JPEG) and image.file:
        return image.file.name
    return None


def labels_key(quality: MosaicQuality) -> str | None:
    """The judged run's label map (0 not imaged, 1 informative, 2 uninformative), when it has one."""
    files = (quality.run.outputs or {}).get("files") or {}
    return files.get("labels")


def _open(key: str) -> PILImage.Image:
    with default_storage.open(key, "rb") as handle:
        found = PILImage.open(handle)
        found.load()
    return found


def mosaic_thumbnail_png(quality: MosaicQuality) -> tuple[bytes, bool] | None:
    """The thumbnail as PNG bytes and whether the overlay is drawn on it; None without a thumbnail."""
    source = thumbnail_source(quality.image)
    if source is None:
        return None
    base = _open(source).convert("RGB")
    base.thumbnail((MAX_SIDE, MAX_SIDE))
    overlaid = False
    key = labels_key(quality)
    if key is not None and default_storage.exists(key):
        labels = _open(key)
        uninformative = np.asarray(labels.resize(base.size, PILImage.NEAREST)) == UNINFORMATIVE
        pixels = np.asarray(base, dtype=np.float32)
        colour = np.asarray(QUALITY_PALETTE[UNINFORMATIVE][:3], dtype=np.float32)
        pixels[uninformative] = (1 - OVERLAY_ALPHA) * pixels[uninformative] + OVERLAY_ALPHA * colour
        base = PILImage.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
        overlaid = True
    buffer = io.BytesIO()
    base.save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue(), overlaid
