"""The original image without the metadata that identifies people: what a remote reader downloads.

Capture devices and cameras write the patient's name, record number, the operator, serial numbers,
dates and places into EXIF, XMP, IPTC, comments and text chunks. The clinic that uploaded the image
keeps the byte-identical original; everyone else gets these copies. Pixels are never re-encoded
lossily: JPEG and PNG are rewritten segment by segment (the compressed pixel data is copied byte
for byte), TIFF is saved again losslessly (deflate) by libvips. What is kept is what display needs:
the colour profile, JFIF density, the Adobe colour transform, PNG's gamma, chromaticity and pixel
size. Anything after the image's end (appended pictures, trailers) is dropped. BMP carries no
metadata and is served as stored.
"""

from __future__ import annotations

import mmap
import shutil
import struct
import tempfile
from pathlib import Path
from typing import BinaryIO

import pyvips
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from rest_framework.exceptions import APIException

from .active_content import jpeg_end
from .models import Image, ImageFormat

# PNG ancillary chunks that describe how to show the pixels; every other ancillary chunk (text,
# eXIf, tIME, private chunks) is dropped. Critical chunks (upper-case first letter) are always kept.
PNG_KEPT_ANCILLARY = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD", b"cICP"}
ICC_PROFILE = b"ICC_PROFILE\x00"
SAMPLE_BYTES = {"uchar": 1, "char": 1, "ushort": 2, "short": 2, "uint": 4, "int": 4, "float": 4, "double": 8}


def deidentified_copy(*, source: Path, file_format: str, frames: int, target: Path) -> None:
    """Write `source` without identifying metadata to `target` (a new file)."""
    if file_format == ImageFormat.JPEG:
        _jpeg_without_metadata(source, target)
    elif file_format == ImageFormat.PNG:
        _png_without_metadata(source, target)
    elif file_format == ImageFormat.TIFF:
        _tiff_without_metadata(source, frames, target)
    else:
        shutil.copyfile(source, target)


def _jpeg_keeps(marker: int, body: bytes) -> bool:
    if marker == 0xFE or 0xE1 <= marker <= 0xEF:  # COM, APP1 (EXIF, XMP) ... APP15, except:
        return (marker == 0xE2 and body.startswith(ICC_PROFILE)) or marker == 0xEE  # ICC; Adobe's transform
    return True  # APP0 (JFIF), tables, frame and scan headers


def _jpeg_without_metadata(source: Path, target: Path) -> None:
    with open(source, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data, \
            open(target, "xb") as out:
        end = jpeg_end(data)
        if end is None:
            raise ValueError("the JPEG has no end of image")
        out.write(data[:2])
        position = 2
        while True:
            if data[position] != 0xFF:
                raise ValueError("the JPEG's segments are malformed")
            marker = data[position + 1]
            if marker == 0xFF:  # a fill byte before the next marker
                position += 1
                continue
            if marker == 0xDA:  # the first scan: from here on, pixel data and tables, copied as they are
                out.write(data[position:end])
                return
            length = struct.unpack(">H", data[position + 2:position + 4])[0]
            segment = data[position:position + 2 + length]
            if _jpeg_keeps(marker, segment[4:]):
                out.write(segment)
            position += 2 + length


def _png_without_metadata(source: Path, target: Path) -> None:
    with open(source, "rb") as handle, open(target, "xb") as out:
        out.write(handle.read(8))
        while header := handle.read(8):
            length, chunk_type = struct.unpack(">I4s", header)
            keep = chunk_type[:1].isupper() or chunk_type in PNG_KEPT_ANCILLARY
            if keep:
                out.write(header)
                _copy(handle, out, length + 4)  # data and CRC
            else:
                handle.seek(length + 4, 1)
            if chunk_type == b"IEND":
                return


def _copy(source: BinaryIO, out: BinaryIO, count: int) -> None:
    while count > 0:
        block = source.read(min(count, 1 << 20))
        if not block:
            raise ValueError("the PNG ends inside a chunk")
        out.write(block)
        count -= len(block)


def _tiff_without_metadata(source: Path, frames: int, target: Path) -> None:
    """The frames in use, losslessly, with the colour profile and pixel size but no tags of text."""
    image = pyvips.Image.new_from_file(str(source), n=frames, access="sequential")
    page_height = image.get("page-height") if image.get_typeof("page-height") else image.height
    raw_bytes = image.width * image.height * image.bands * SAMPLE_BYTES.get(image.format, 8)
    image.tiffsave(str(target), compression="deflate", predictor="horizontal", page_height=page_height,
                   keep="icc", bigtiff=raw_bytes > 3 * 1024**3)


class DeidentificationFailed(APIException):
    status_code = 422
    default_code = "deidentification_failed"
    default_detail = ("This image's file is damaged where its metadata lies, so a copy without the metadata cannot "
                      "be made safely; ask the clinic that uploaded it to upload it again.")


def deidentified_file(*, image: Image) -> BinaryIO:
    """An open, already unlinked temporary file holding the image's de-identified copy (the space
    is freed when the response closes it). Works for local and object storage alike."""
    staging = Path(settings.FILE_UPLOAD_TEMP_DIR)
    with tempfile.TemporaryDirectory(dir=staging, prefix="deidentify-") as work:
        if isinstance(default_storage, FileSystemStorage):
            source = Path(default_storage.path(image.file.name))
        else:
            source = Path(work) / "original"
            with image.file.open("rb") as stored, open(source, "wb") as local:
                shutil.copyfileobj(stored, local, 1 << 20)
        target = Path(work) / f"copy.{image.file_format}"
        try:
            deidentified_copy(source=source, file_format=image.file_format, frames=image.frames, target=target)
        except (ValueError, IndexError, struct.error, pyvips.Error) as exc:
            # a file stored before intake refused broken JPEG segments: say so rather than guess
            raise DeidentificationFailed() from exc
        return open(target, "rb")  # the folder goes now; the open file stays readable until closed
