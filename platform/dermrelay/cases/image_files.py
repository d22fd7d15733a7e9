"""Proving an uploaded file is a whole image of an accepted type, cheapest checks first.

Order: magic bytes → no HTML or script where a browser or a metadata reader would find it → header dimensions against per-kind pixel limits (no pixel decoded yet, so a
small PNG declaring 100k x 100k costs nothing) → a full streaming decode of every frame that will
be used, with libvips failing on truncation or corrupt data. BMP goes through Pillow because the
pyvips-binary build cannot read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips
from PIL import Image as PILImage

from inference.serving import bmp
from inference.serving.image_source import open_image

from .active_content import ACTIVE_MARKUP, EDGE_BYTES, has_active_content, jpeg_structure_whole
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
    if header.file_format == ImageFormat.JPEG and not jpeg_structure_whole(path):
        raise ImageRejected(  # libjpeg only warns about stray bytes between segments: they hide content
            "The JPEG file's segments are broken (stray bytes between them, or no end of image): it is corrupt.",
            code="corrupt_image")
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
