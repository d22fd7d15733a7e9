"""Proving an uploaded file is a whole image of an accepted type, cheapest checks first.

Order: magic bytes → no HTML or script where a browser or a metadata reader would find it → header dimensions against per-kind pixel limits (no pixel decoded yet, so a
small PNG declaring 100k x 100k costs nothing) → a full streaming decode of every frame that will
be used, with libvips failing on truncation or corrupt data. BMP goes through Pillow because the
pyvips-binary build cannot read it.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyvips
from PIL import Image as PILImage

from inference.serving import bmp
from inference.serving.image_source import open_image

from .models import ImageFormat, ImageKind

pyvips.cache_set_max(0)  # never keep files open after a check: they are moved or deleted next

MEGAPIXEL = 1_000_000
PIXEL_LIMITS = {  # per frame
    ImageKind.RCM_MOSAIC: 256 * MEGAPIXEL,
    ImageKind.RCM_STACK: 256 * MEGAPIXEL,
    ImageKind.DERMOSCOPY: 50 * MEGAPIXEL,
    ImageKind.CLINICAL: 50 * MEGAPIXEL,
}
STACK_TOTAL_PIXEL_LIMIT = 2**30
PILImage.MAX_IMAGE_PIXELS = max(PIXEL_LIMITS.values())  # our own limits are checked first, per kind
_VIPS_BITS = {"uchar": 8, "char": 8, "ushort": 16, "short": 16, "uint": 32, "int": 32, "float": 32, "double": 64}
_PIL_BITS = {"1": 1, "L": 8, "P": 8, "LA": 8, "RGB": 8, "RGBA": 8, "CMYK": 8, "I;16": 16, "I": 32, "F": 32}
EXTENSIONS = {ImageFormat.JPEG: "jpg", ImageFormat.PNG: "png", ImageFormat.TIFF: "tif", ImageFormat.BMP: "bmp"}
MEDIA_TYPES = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.TIFF: "image/tiff",
    ImageFormat.BMP: "image/bmp",
}


class ImageRejected(Exception):
    """The upload is not an acceptable image; carries the HTTP status and a stable error code."""

    def __init__(self, message: str, *, code: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


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
        end = jpeg_end(data, end)
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


@dataclass(frozen=True)
class ImageHeader:
    file_format: str
    width: int
    height: int
    frames: int
    channels: int
    bit_depth: int


def sniff_format(head: bytes) -> str:
    """The format from the magic bytes; the client's file name and Content-Type are ignored."""
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ImageFormat.TIFF
    if head.startswith(b"BM") and len(head) >= 26 and head[6:10] == b"\x00\x00\x00\x00":
        return ImageFormat.BMP
    if head[128:132] == b"DICM":
        raise ImageRejected(
            "DICOM files are not accepted by this server yet; export the image as TIFF, PNG or JPEG.",
            code="dicom_not_supported",
            status=415,
        )
    raise ImageRejected(
        "Unsupported file type: expected a JPEG, PNG, TIFF or BMP image (judged by its content, not its name).",
        code="unsupported_type",
        status=415,
    )


def _vips_page(path: str, page: int = 0) -> pyvips.Image:
    """Open one page lazily (header only until pixels are asked for); only TIFF loaders take `page`."""
    options = {"page": page} if page else {}
    return pyvips.Image.new_from_file(path, access="sequential", fail_on="error", **options)


def _vips_header(path: str, file_format: str, max_frames: int) -> tuple[ImageHeader, list[tuple[int, int]]]:
    image = _vips_page(path)
    pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
    if pages > max_frames:
        raise ImageRejected(f"The file has {pages} pages; at most {max_frames} are accepted.", code="too_many_frames")
    sizes = [(image.width, image.height)]
    if file_format == ImageFormat.TIFF and pages > 1:
        sizes += [(p.width, p.height) for p in (_vips_page(path, i) for i in range(1, pages))]
    header = ImageHeader(file_format, image.width, image.height, pages, image.bands, _VIPS_BITS.get(image.format, 8))
    return header, sizes


def read_header(path: str, file_format: str, *, max_frames: int) -> tuple[ImageHeader, list[tuple[int, int]]]:
    """Header facts and every page's size, without decoding pixels."""
    try:
        if file_format == ImageFormat.BMP:
            with PILImage.open(path, formats=["BMP"]) as im:
                return ImageHeader(file_format, im.width, im.height, 1, len(im.getbands()), _PIL_BITS.get(im.mode, 8)), [im.size]
        return _vips_header(path, file_format, max_frames)
    except PILImage.DecompressionBombError as exc:
        raise ImageRejected("The image declares more pixels than any accepted image.", code="too_many_pixels") from exc
    except (pyvips.Error, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"The {file_format.upper()} header could not be read: the file is corrupt.", code="corrupt_header") from exc


def resolve_frames(header: ImageHeader, sizes: list[tuple[int, int]], kind: str) -> ImageHeader:
    """Decide which pages are the image: a stack's frames, or page 0 plus reduced-resolution pages."""
    same_size = [s for s in sizes if s == sizes[0]]
    if kind == ImageKind.RCM_STACK:
        if len(same_size) != len(sizes):
            raise ImageRejected("Every frame of an RCM stack must have the same size.", code="inconsistent_frames")
        return header
    if len(same_size) > 1:
        raise ImageRejected(
            f"The file holds {len(same_size)} full-size frames; multi-frame files are accepted only as kind rcm_stack.",
            code="multi_frame_not_allowed",
        )
    return ImageHeader(header.file_format, header.width, header.height, 1, header.channels, header.bit_depth)


def check_limits(header: ImageHeader, kind: str) -> None:
    if header.width < 1 or header.height < 1:
        raise ImageRejected("The image has no pixels.", code="empty_image")
    pixels = header.width * header.height
    limit = PIXEL_LIMITS[kind]
    if pixels > limit:
        raise ImageRejected(
            f"The image is {header.width}x{header.height} ({pixels / MEGAPIXEL:.1f} megapixels); "
            f"{kind} images may have at most {limit // MEGAPIXEL} megapixels.",
            code="too_many_pixels",
        )
    if pixels * header.frames > STACK_TOTAL_PIXEL_LIMIT:
        raise ImageRejected("The stack holds too many pixels in all its frames together.", code="too_many_pixels")
    if header.channels not in (1, 2, 3, 4):
        raise ImageRejected(f"Images with {header.channels} channels are not accepted.", code="unsupported_channels")


def verify_decodes(path: str, header: ImageHeader) -> None:
    """Decode every pixel of every frame in use, streaming, so a truncated file is caught now.

    JPEG is decoded at 1/8 scale: libjpeg still entropy-decodes every block (so truncation and
    corrupt data fail as before) but skips most of the inverse DCT, the costly part. An
    uncompressed BMP is whole when every row's bytes are there."""
    try:
        if header.file_format == ImageFormat.BMP:
            layout = bmp.read_layout(path)
            if layout is not None:
                if not bmp.is_complete(path, layout):
                    raise OSError("pixel data is truncated")
                return
            with PILImage.open(path, formats=["BMP"]) as im:
                im.load()
            return
        for page in range(header.frames):
            options = {"shrink": 8} if header.file_format == ImageFormat.JPEG else {}
            pyvips.Image.new_from_file(path, access="sequential", fail_on="error", **options, **(
                {"page": page} if page else {})).avg()
    except (pyvips.Error, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            f"The {header.file_format.upper()} file could not be decoded completely: it is truncated or corrupt.",
            code="corrupt_image",
        ) from exc


def _active_content() -> ImageRejected:
    return ImageRejected(
        "The file contains HTML or script markup; image files with active content are refused.",
        code="active_content",
        status=415,
    )


def assemble_stack(*, frame_paths: list[str], heads: list[bytes], target: str, max_frames: int) -> None:
    """Check each frame as an upload of its own, then write them in order as one multi-page TIFF
    (deflate, lossless): 'a folder of images' becomes the same kind of stack a device exports."""
    if len(frame_paths) > max_frames:
        raise ImageRejected(f"{len(frame_paths)} frames; at most {max_frames} are accepted.", code="too_many_frames")
    headers = []
    for number, (path, head) in enumerate(zip(frame_paths, heads), start=1):
        try:
            header = inspect_image_file(path=path, head=head, kind=ImageKind.RCM_MOSAIC, max_frames=1)
        except ImageRejected as exc:
            raise ImageRejected(f"Frame {number}: {exc.message}", code=exc.code, status=exc.status) from exc
        first = headers[0] if headers else header
        if (header.width, header.height, header.channels, header.bit_depth) != (
                first.width, first.height, first.channels, first.bit_depth):
            raise ImageRejected(
                f"Frame {number} is {header.width}x{header.height}, {header.channels} channel(s), {header.bit_depth} "
                f"bits; frame 1 is {first.width}x{first.height}, {first.channels}, {first.bit_depth}: "
                "every frame of a stack must match.", code="inconsistent_frames")
        headers.append(header)
    if len(headers) * headers[0].width * headers[0].height > STACK_TOTAL_PIXEL_LIMIT:
        raise ImageRejected("The stack holds too many pixels in all its frames together.", code="too_many_pixels")
    frames = [open_image(path) for path in frame_paths]
    stack = pyvips.Image.arrayjoin(frames, across=1)  # each frame is read once, top to bottom
    stack.tiffsave(target, page_height=headers[0].height, compression="deflate", predictor="horizontal", keep="none")


def inspect_image_file(*, path: str, head: bytes, kind: str, max_frames: int) -> ImageHeader:
    """Every check in order; returns the header facts to store, or raises ImageRejected."""
    if ACTIVE_MARKUP.search(head[:EDGE_BYTES]):
        raise _active_content()
    file_format = sniff_format(head)
    if has_active_content(path, file_format):
        raise _active_content()
    header, sizes = read_header(path, file_format, max_frames=max_frames)
    header = resolve_frames(header, sizes, kind)
    check_limits(header, kind)
    verify_decodes(path, header)
    return header
