"""The report PDF's key images: the dermoscopy image and the mosaics as thumbnails with their
model overlay drawn for paper (half-opacity fill, solid outline) and a legend under each."""

from __future__ import annotations

import io
import logging
import math
import re

import numpy as np
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from dermrelay.analysis.selectors import overlays_for
from dermrelay.cases.models import Case, ImageKind, ImageStatus

from .layout import ReportPDF, choice_label, depth_text, heading


logger = logging.getLogger(__name__)
MAX_KEY_IMAGES = 9
OVERLAY_FOR_KIND = {ImageKind.RCM_MOSAIC: "quality", ImageKind.DERMOSCOPY: "projection"}
_DZI_URL = re.compile(r"^/tiles/\d+/[^/]+/(?P<prefix>.+)/overlay\.dzi$")
_DZI_NUMBER = {name: re.compile(rf'{name}="(\d+)"') for name in ("TileSize", "Width", "Height")}
OVERLAY_FILL_OPACITY = 0.5  # on paper there is no opacity slider: the tissue must show through the fill


def _overlay_tile(image, kind: str) -> tuple[PILImage.Image | None, list]:
    """The overlay of `kind` on this image at the level whose single tile holds it whole (the same
    level the thumbnail comes from), with its legend; (None, []) when there is none."""
    for overlay in overlays_for(image=image, absolute=lambda url: url):
        if overlay["kind"] != kind:
            continue
        match = _DZI_URL.match(overlay["dzi"])
        if match is None:
            return None, []
        prefix = match.group("prefix")
        with default_storage.open(f"{prefix}/overlay.dzi", "rb") as handle:
            descriptor = handle.read().decode()
        tile, width, height = (int(_DZI_NUMBER[name].search(descriptor).group(1)) for name in ("TileSize", "Width", "Height"))
        top = math.ceil(math.log2(max(width, height, 1)))
        level = top
        while level > 0 and math.ceil(max(width, height) / 2 ** (top - level)) > tile:
            level -= 1
        with default_storage.open(f"{prefix}/overlay_files/{level}/0_0.png", "rb") as handle:
            return PILImage.open(io.BytesIO(handle.read())).convert("RGBA"), overlay["legend"]
    return None, []


def _grown(mask: np.ndarray) -> np.ndarray:
    """The mask and its 4-neighbours."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def for_paper(overlay: PILImage.Image) -> PILImage.Image:
    """The overlay as printed: its areas filled at OVERLAY_FILL_OPACITY of their own alpha, and the
    two pixels inside each area's border (where the colour changes) opaque, so that a region reads
    as a region without hiding the tissue it covers."""
    rgba = np.asarray(overlay, dtype=np.uint8)
    key = rgba.astype(np.uint32) @ np.array([1 << 24, 1 << 16, 1 << 8, 1], dtype=np.uint32)
    drawn = rgba[..., 3] > 0
    border = np.zeros(key.shape, dtype=bool)
    for axis in (0, 1):
        changed = np.diff(key, axis=axis) != 0
        lead = [(0, 0), (0, 0)]
        lead[axis] = (0, 1)
        trail = [(0, 0), (0, 0)]
        trail[axis] = (1, 0)
        border |= np.pad(changed, lead) | np.pad(changed, trail)
    border &= drawn
    border = _grown(border) & drawn  # the second pixel, inside the same area
    printed = rgba.copy()
    printed[..., 3] = (rgba[..., 3] * OVERLAY_FILL_OPACITY).astype(np.uint8)
    printed[border, 3] = 255
    return PILImage.fromarray(printed, "RGBA")


def key_image_with_legend(image) -> tuple[PILImage.Image, list, str]:
    """The thumbnail with its overlay drawn over it, the overlay's legend, and a note on it."""
    with image.thumbnail.open("rb") as handle:
        picture = PILImage.open(io.BytesIO(handle.read())).convert("RGBA")
    kind = OVERLAY_FOR_KIND.get(image.kind)
    if kind is None:
        return picture.convert("RGB"), [], ""
    try:
        overlay, legend = _overlay_tile(image, kind)
    except (OSError, ValueError, AttributeError) as exc:  # a missing or unreadable overlay file: say so
        logger.warning("overlay of image %s not drawn in the report PDF: %s", image.id, exc)
        return picture.convert("RGB"), [], "overlay could not be read"
    if overlay is None:
        return picture.convert("RGB"), [], "no model overlay"
    picture.alpha_composite(for_paper(overlay.resize(picture.size, PILImage.Resampling.NEAREST)))
    return picture.convert("RGB"), legend, "; ".join(entry["label"] for entry in legend)


def key_image(image) -> tuple[PILImage.Image, str]:
    """The thumbnail with its overlay drawn over it, and a note naming what the overlay shows."""
    picture, _, note = key_image_with_legend(image)
    return picture, note


def case_key_images(case: Case) -> list:
    images = list(case.images.current().filter(kind=ImageKind.DERMOSCOPY, status=ImageStatus.READY).exclude(thumbnail="")
                  .order_by("created_at"))
    images += list(case.images.current().filter(kind=ImageKind.RCM_MOSAIC, status=ImageStatus.READY).exclude(thumbnail="")
                   .order_by("depth_um", "created_at"))
    return images[:MAX_KEY_IMAGES]


def _hex_rgb(colour: str, alpha: float = 1.0) -> tuple[int, int, int]:
    """A legend colour as it shows on white paper at its alpha."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(round(255 - alpha * (255 - c)) for c in (red, green, blue))


def _legend(pdf: ReportPDF, legend: list, *, x: float, width: float) -> None:
    """One line per overlay colour: a swatch as it is printed, then what it means."""
    for entry in legend:
        y = pdf.get_y()
        alpha = entry.get("alpha", 1.0)
        pdf.set_draw_color(*_hex_rgb(entry["colour"]))
        pdf.set_fill_color(*_hex_rgb(entry["colour"], alpha * OVERLAY_FILL_OPACITY))
        pdf.set_line_width(0.5)
        pdf.rect(x + 0.3, y + 0.6, 3.2, 2.6, style="DF")
        pdf.set_line_width(0.2)
        pdf.set_draw_color(0)
        pdf.set_xy(x + 4.6, y)
        pdf.multi_cell(width - 4.6, 3.8, pdf.safe(entry["label"]), align="L", new_x="LEFT", new_y="NEXT")
        pdf.set_x(x)


def key_images_section(pdf: ReportPDF, pictures: list) -> None:
    """Three images a row, each with its caption and the legend of its overlay directly under it."""
    size, gap, columns = 58.0, 8.0, 3
    heading(pdf, "Key images", keep=size + 22)
    if any(legend for _, _, legend, _ in pictures):
        pdf.set_font(pdf.family, "", 7)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 3.8, pdf.safe("Model overlays are drawn at half opacity with solid outlines; the legend "
                                        "under each image gives their colours."), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
        pdf.ln(1.5)
    for start in range(0, len(pictures), columns):
        row = pictures[start:start + columns]
        heights = [picture.height * min(size / picture.width, size / picture.height) for _, picture, _, _ in row]
        if pdf.get_y() + max(heights) + 22 > pdf.page_break_trigger:
            pdf.add_page()
            heading(pdf, "Key images (continued)")
        top, bottom = pdf.get_y(), pdf.get_y()
        for column, ((image, picture, legend, note), height) in enumerate(zip(row, heights, strict=True)):
            width = picture.width * min(size / picture.width, size / picture.height)
            x = pdf.l_margin + column * (size + gap)
            pdf.image(picture, x=x, y=top, w=width, h=height)
            pdf.set_xy(x, top + height + 1.2)
            pdf.set_font(pdf.family, "B", 7.5)
            label = choice_label(ImageKind, image.kind)
            if image.kind == ImageKind.RCM_MOSAIC:
                label += f" · {depth_text(image.depth_level, image.depth_um)}"
            pdf.multi_cell(size, 3.8, pdf.safe(label), align="L", new_x="LEFT", new_y="NEXT")
            pdf.set_font(pdf.family, "", 7)
            if legend:
                _legend(pdf, legend, x=x, width=size)
            elif note:
                pdf.set_text_color(90)
                pdf.multi_cell(size, 3.8, pdf.safe(note.capitalize()), align="L", new_x="LEFT", new_y="NEXT")
                pdf.set_text_color(0)
            bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 5)
