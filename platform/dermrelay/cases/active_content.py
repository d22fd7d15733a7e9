"""Finding HTML or script in an uploaded image where a browser or a metadata reader would find it:
the file's head and tail, its metadata (PNG chunks, JPEG segments, TIFF text tags), and bytes that
no decoder reads (after a JPEG's or PNG's end, around a BMP's pixels), where polyglots hide a page.
Pixel data is never scanned (cases/image_files.py runs this before decoding)."""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from PIL import Image as PILImage

from .models import ImageFormat

# HTML or script that a browser could be tricked into rendering (an image/HTML polyglot).
ACTIVE_MARKUP = re.compile(
    rb"<(?:(?:!doctype\s+html|html|head|body|script|iframe|object|embed|svg|meta|form|img|link|style)[\s>/]"
    rb"|a\s+href\s*=)",
    re.IGNORECASE,
)
EDGE_BYTES = 1024  # the head and tail of a file: where sniffers look and where polyglots append
_METADATA_LIMIT = 4 * 1024 * 1024  # per segment; text metadata is never this large in a real image


def _png_metadata(handle: BinaryIO, large_chunks: list[tuple[int, int]]) -> Iterator[bytes]:
    """Every chunk but the compressed pixel data (IDAT/fdAT); compressed text chunks inflated. Chunks
    over the metadata limit are not read into memory: their spans go to `large_chunks`."""
    handle.seek(8)
    while header := handle.read(8):
        if len(header) < 8:
            return
        length, chunk_type = struct.unpack(">I4s", header)
        if chunk_type in (b"IDAT", b"fdAT") or length > _METADATA_LIMIT:
            if chunk_type not in (b"IDAT", b"fdAT"):
                large_chunks.append((handle.tell(), handle.tell() + length))
            handle.seek(length + 4, 1)
            continue
        data = handle.read(length)
        handle.seek(4, 1)  # CRC
        yield data
        if chunk_type in (b"zTXt", b"iTXt") and b"\x00" in data:
            compressed = data.split(b"\x00", 1)[1]
            compressed = compressed[1:] if chunk_type == b"zTXt" else compressed[2:].split(b"\x00", 2)[-1]
            try:
                yield zlib.decompressobj().decompress(compressed, _METADATA_LIMIT)
            except zlib.error:
                pass
        if chunk_type == b"IEND":
            return


def _jpeg_metadata(handle: BinaryIO) -> Iterator[bytes]:
    """Every marker segment before the first scan: APPn (EXIF, XMP, private), COM and the tables."""
    handle.seek(2)
    while True:
        prefix = handle.read(2)
        if len(prefix) < 2 or prefix[0] != 0xFF:
            return
        marker = prefix[1]
        if marker in (0xDA, 0xD9):  # start of scan, end of image
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            continue
        size = handle.read(2)
        if len(size) < 2:
            return
        length = struct.unpack(">H", size)[0] - 2
        yield handle.read(min(length, _METADATA_LIMIT))
        handle.seek(max(0, length - _METADATA_LIMIT), 1)


def _tiff_metadata(path: str) -> Iterator[bytes]:
    """Text and byte tags of the first page (ImageDescription, XMP, software, ...)."""
    with PILImage.open(path) as im:
        for value in im.tag_v2.values():
            if isinstance(value, str):
                yield value.encode("utf-8", "replace")
            elif isinstance(value, bytes):
                yield value[:_METADATA_LIMIT]


_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")  # in entropy-coded data: not stuffing, restart or fill


def jpeg_end(data: mmap.mmap, start: int = 0) -> int | None:
    """Where the JPEG that begins at `start` ends (just after its EOI marker): segments are skipped
    by their lengths, entropy-coded data up to the next marker (FF followed by anything but a
    stuffed 00, a restart marker or fill). None when the structure breaks off first."""
    position = start + 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        position += 2
        if marker == 0xD9:  # end of image
            return position
        if marker in (0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
            position -= 1 if marker == 0xFF else 0  # fill bytes: look at the next FF
            continue
        position += struct.unpack(">H", data[position:position + 2])[0]
        if marker == 0xDA:  # a scan: its entropy-coded data runs to the next real marker
            found = _JPEG_MARKER.search(data, position)
            if found is None:
                return None
            position = found.start()
    return None


def _jpeg_trailer(data: mmap.mmap) -> int | None:
    """Where the bytes after the image (and after any JPEGs appended to it, as multi-picture files
    carry) begin; None when the image has no end."""
    end = jpeg_end(data)
    while end is not None and data[end:end + 3] == b"\xff\xd8\xff":
        appended = jpeg_end(data, end)
        if appended is None:  # not a whole JPEG after all: scan it as the trailer it is
            break
        end = appended
    return end


def _bmp_regions(data: mmap.mmap) -> list[tuple[int, int]]:
    """The parts of a BMP that are not header or pixels: between the palette and the pixel data,
    and after the pixel data (whose length a compressed BMP states; without it, nothing after)."""
    offset, dib_size = struct.unpack_from("<II", data, 10)
    if dib_size < 40:  # an OS/2 core header: too rare to map, its ends are scanned as every file's are
        return []
    width, height, _, bits, compression, image_size = struct.unpack_from("<iiHHII", data, 18)
    colours = struct.unpack_from("<I", data, 46)[0] if dib_size >= 40 else 0
    palette = 4 * (colours or (1 << bits if bits in (1, 2, 4, 8) else 0))
    masks = 12 if dib_size == 40 and compression in (3, 6) else 0
    regions = [(14 + dib_size + masks + palette, offset)]
    if compression in (0, 3, 6):
        regions.append((offset + ((bits * abs(width) + 31) // 32) * 4 * abs(height), len(data)))
    elif image_size:
        regions.append((offset + image_size, len(data)))
    return regions


def _unstructured_regions(data: mmap.mmap, file_format: str, png_end: int | None) -> list[tuple[int, int]]:
    """Byte ranges no decoder reads as pixels or metadata: where a polyglot hides a document."""
    if file_format == ImageFormat.PNG and png_end is not None:
        return [(png_end, len(data))]
    if file_format == ImageFormat.JPEG:
        end = _jpeg_trailer(data)
        return [(end, len(data))] if end is not None else []
    if file_format == ImageFormat.BMP:
        return _bmp_regions(data)
    return []


def has_active_content(path: str, file_format: str) -> bool:
    """Markup in the file's head or tail, in its metadata, or in bytes that are neither (appended
    after a JPEG's or PNG's end, between a BMP's header and pixels or after them). Pixel data is not
    scanned: compressed pixels contain any byte sequence by chance (a whole-file scan refused about
    one 10 MB JPEG in 2,000), and a browser never renders them as a document."""
    if os.path.getsize(path) == 0:
        return False
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if ACTIVE_MARKUP.search(data, 0, EDGE_BYTES) or ACTIVE_MARKUP.search(data, max(0, len(data) - EDGE_BYTES)):
            return True
        segments: list[bytes] = []
        regions: list[tuple[int, int]] = []
        try:
            png_end = None
            if file_format == ImageFormat.PNG:
                segments += list(_png_metadata(data, regions))
                png_end = data.tell()
            elif file_format == ImageFormat.JPEG:
                segments += list(_jpeg_metadata(data))
            elif file_format == ImageFormat.TIFF:
                segments += list(_tiff_metadata(path))
            regions += _unstructured_regions(data, file_format, png_end)
        except (OSError, struct.error, SyntaxError, ValueError, IndexError, PILImage.DecompressionBombError):
            pass  # a damaged (or too large) structure is reported by the header and decode checks that follow
        return (any(ACTIVE_MARKUP.search(segment) for segment in segments)
                or any(start < end and ACTIVE_MARKUP.search(data, start, end) for start, end in regions))


def jpeg_structure_whole(path: str) -> bool:
    """Every segment where the previous one says it ends, through the end of image."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            return jpeg_end(data) is not None
        except (struct.error, IndexError, ValueError):
            return False
