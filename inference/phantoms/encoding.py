"""The phantoms' images as file bytes: PNG for mosaics and masks (lossless), JPEG for dermoscopy."""

from __future__ import annotations

import io

import numpy as np


def png_bytes(array: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 array (grey or RGB)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def jpeg_bytes(array: np.ndarray) -> bytes:
    """JPEG (quality 92) of a uint8 RGB array, as a dermatoscope writes it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array, "RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()
