"""Reads of derived imaging data for images the caller has already been allowed to see."""

from __future__ import annotations

from datetime import datetime, timezone

from dermrelay.cases.models import Image

from .models import Pyramid, Registration
from .tiles import tile_url_base


def viewer_descriptor(*, image: Image, absolute) -> dict | None:
    """What a deep-zoom viewer needs: sizes, levels, frames with depth, and signed tile URLs.
    None while the pyramid is not built yet. `absolute` turns a path into an absolute URL."""
    pyramid = Pyramid.objects.filter(image=image).first()
    if pyramid is None:
        return None
    base, expires = tile_url_base(pyramid.prefix)
    base = absolute(base)
    frames = []
    for index in range(pyramid.frames):
        depth = image.depth_um + index * image.z_step_um if image.depth_um is not None and image.z_step_um else (
            image.depth_um if pyramid.frames == 1 else None)
        frames.append({
            "index": index, "depth_um": depth,
            "dzi": f"{base}/f{index:04d}.dzi",
            "tiles": f"{base}/f{index:04d}_files/{{level}}/{{col}}_{{row}}.jpeg",
        })
    return {
        "image": str(image.id), "kind": image.kind, "depth_level": image.depth_level,
        "width": pyramid.width, "height": pyramid.height, "tile_size": pyramid.tile_size, "overlap": pyramid.overlap,
        "format": pyramid.tile_format, "max_level": pyramid.max_level, "pixel_spacing_um": image.pixel_spacing_um,
        "display_window": {"low": pyramid.window_low, "high": pyramid.window_high} if pyramid.window_low is not None else None,
        "crop": pyramid.crop, "frames": frames, "thumbnail": f"{base}/thumbnail.jpg",
        "expires_at": datetime.fromtimestamp(expires, tz=timezone.utc).isoformat(),
    }


def registration_of(*, mosaic: Image) -> Registration | None:
    return Registration.objects.filter(mosaic=mosaic).select_related("mosaic", "created_by").first()


def pyramid_of(*, image: Image) -> Pyramid | None:
    return Pyramid.objects.filter(image=image).first()
