"""Opening a stored image file as a lazy libvips image, whatever its accepted format. Intake,
derivation and every model read files through here, so a format that one of them accepts is one
that all of them can read (BMP needs its own path: see bmp.py)."""

from __future__ import annotations

import pyvips

from . import bmp


def open_image(path: str, *, page: int = 0) -> pyvips.Image:
    """One page, streamed top to bottom where the format allows (read it once)."""
    if bmp.is_bmp(path):
        return bmp.open_bmp(path)
    return pyvips.Image.new_from_file(path, access="sequential", **({"page": page} if page else {}))


def thumbnail(path: str, width: int, *, height: int, size: str) -> pyvips.Image:
    """libvips' thumbnail (shrink-on-load for JPEG and pyramids) for every format it loads; a BMP is
    shrunk after it is opened."""
    if bmp.is_bmp(path):
        return bmp.open_bmp(path).thumbnail_image(width, height=height, size=size)
    return pyvips.Image.thumbnail(path, width, height=height, size=size)
