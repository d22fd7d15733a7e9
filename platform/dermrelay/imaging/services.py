"""Derived files of an image. Today: the thumbnail; pyramids and registration come with issue 3."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pyvips
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image as PILImage

from dermrelay.cases.models import Image, ImageFormat, ImageStatus

logger = logging.getLogger(__name__)
THUMBNAIL_SIZE = 256


def _to_display_range(image: pyvips.Image) -> pyvips.Image:
    """Map any bit depth to 8 bits: a percentile window (0.5–99.5 %) for more than 8 bits."""
    if image.format == "uchar":
        return image
    low = image.percent(0.5)
    high = max(image.percent(99.5), low + 1)
    return ((image - low) * (255.0 / (high - low))).cast("uchar")


def _render_thumbnail(source: str, file_format: str, target: str) -> None:
    if file_format == ImageFormat.BMP:  # the pyvips-binary build cannot read BMP
        with PILImage.open(source) as im:
            im.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
            im.convert("RGB" if im.mode not in ("L", "RGB") else im.mode).save(target, "JPEG", quality=85)
        return
    thumb = pyvips.Image.thumbnail(source, THUMBNAIL_SIZE, height=THUMBNAIL_SIZE, size="down")
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255])
    _to_display_range(thumb).jpegsave(target, Q=85, keep="none")


def image_thumbnail_create(*, image: Image) -> Image:
    """Render the thumbnail once; running it again for an image that has one changes nothing."""
    if image.thumbnail and image.status == ImageStatus.READY:
        return image
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / f"source.{image.file.name.rsplit('.', 1)[-1]}"
        with image.file.open("rb") as stored, source.open("wb") as local:
            for chunk in stored.chunks():
                local.write(chunk)
        target = Path(work) / "thumbnail.jpg"
        _render_thumbnail(str(source), image.file_format, str(target))
        with target.open("rb") as handle:
            key = default_storage.save(f"derived/{image.case.site_id}/{image.id}/thumbnail.jpg", File(handle))
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        previous = locked.thumbnail.name
        locked.thumbnail = key
        locked.status = ImageStatus.READY
        locked.status_detail = ""
        locked.save(update_fields=["thumbnail", "status", "status_detail", "updated_at"])
    if previous and previous != key:
        default_storage.delete(previous)
    return locked


def image_mark_failed(*, image_id, reason: str) -> None:
    Image.objects.filter(pk=image_id).update(status=ImageStatus.FAILED, status_detail=reason[:500])
