"""BMP for libvips, which in the pyvips-binary build has no BMP loader: uncompressed BMPs through
rawload (memory-mapped and streamed, never decoded whole), the rest (RLE, padded 24-bit rows,
1/4/16/32 bits) decoded by Pillow.

Pillow alone would decode a 144-megapixel BMP into memory twice, once more to hand it to libvips.
An uncompressed BMP is raw rows: knowing the header is enough to map them, and "whole" means every
row's bytes are present.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import pyvips
from PIL import Image as PILImage


@dataclass(frozen=True)
class BmpLayout:
    width: int
    height: int
    bits: int
    offset: int
    row_bytes: int
    bottom_up: bool
    palette: bytes  # BGRA entries, for 8 bits

    @property
    def data_bytes(self) -> int:
        return self.row_bytes * self.height


def is_bmp(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"BM"


def read_layout(path: str) -> BmpLayout | None:
    """The layout of an uncompressed 8- or 24-bit BMP whose rows can be mapped; None for any other."""
    with open(path, "rb") as handle:
        head = handle.read(54)
        if len(head) < 54 or head[:2] != b"BM":
            return None
        offset, dib_size = struct.unpack_from("<II", head, 10)
        width, height, planes, bits, compression = struct.unpack_from("<iiHHI", head, 18)
        colours_used = struct.unpack_from("<I", head, 46)[0]
        if dib_size < 40 or planes != 1 or width <= 0 or height == 0 or compression != 0 or bits not in (8, 24):
            return None
        palette = b""
        if bits == 8:
            handle.seek(14 + dib_size)
            palette = handle.read(4 * (colours_used or 256))
        row_bytes = ((bits * width + 31) // 32) * 4
        if bits == 24 and row_bytes != width * 3:
            return None  # padded 24-bit rows cannot be mapped as pixels: Pillow handles these
        return BmpLayout(width, abs(height), bits, offset, row_bytes, height > 0, palette)


def is_complete(path: str, layout: BmpLayout) -> bool:
    return os.path.getsize(path) >= layout.offset + layout.data_bytes


def open_mapped(path: str, layout: BmpLayout) -> pyvips.Image:
    """The image as libvips sees it: rows in top-down order, RGB or one grey band."""
    if layout.bits == 8:
        image = pyvips.Image.rawload(path, layout.row_bytes, layout.height, 1, offset=layout.offset)
        image = image.crop(0, 0, layout.width, layout.height) if layout.row_bytes != layout.width else image
        entries = [layout.palette[i:i + 4] for i in range(0, len(layout.palette), 4)]
        grey = all(e[0] == e[1] == e[2] == i for i, e in enumerate(entries))
        if not grey:  # a colour palette: map each index through it
            lut = pyvips.Image.new_from_memory(
                b"".join(bytes((e[2], e[1], e[0])) for e in entries).ljust(256 * 3, b"\0"), 256, 1, 3, "uchar")
            image = image.maplut(lut)
    else:
        image = pyvips.Image.rawload(path, layout.width, layout.height, 3, offset=layout.offset)
        image = image[2].bandjoin([image[1], image[0]])  # BGR → RGB
    image = image.copy(interpretation="b-w" if image.bands == 1 else "srgb")
    return image.flipver() if layout.bottom_up else image


def open_bmp(path: str) -> pyvips.Image:
    """Any BMP Pillow reads, as a libvips image: mapped when its rows can be, else decoded whole."""
    layout = read_layout(path)
    if layout is not None:
        return open_mapped(path, layout)
    with PILImage.open(path, formats=["BMP"]) as im:
        converted = im.convert(im.mode if im.mode in ("L", "RGB") else "RGB")
    image = pyvips.Image.new_from_memory(converted.tobytes(), converted.width, converted.height,
                                         len(converted.getbands()), "uchar")
    return image.copy(interpretation="b-w" if image.bands == 1 else "srgb")
