"""Streaming upload intake: hash, size-limit and scan the bytes as they arrive.

Django's default handlers buffer small files in memory and then copy them; this one writes each
chunk once to a staging file beside the media root while computing its SHA-256, so a 1 GB mosaic
is hashed without a second read, and an oversized body is cut off as soon as it crosses the limit.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# HTML or script that a browser could be tricked into rendering (an image/HTML polyglot).
ACTIVE_MARKUP = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|object|embed|svg|meta|form|a\s+href)[\s>/]",
    re.IGNORECASE,
)
_MARKUP_OVERLAP = 32  # bytes kept from the previous chunk so a tag split across chunks is found
HEAD_BYTES = 512  # enough to sniff every supported format, DICOM's preamble included


class StagedFile(UploadedFile):
    """An uploaded file on local disk with its hash, first bytes and what the scan found."""

    def __init__(self, *, path: str, size: int, sha256: str, head: bytes, has_markup: bool):
        super().__init__(open(path, "rb"), name=os.path.basename(path), size=size)
        self.path = path
        self.sha256 = sha256
        self.head = head
        self.has_markup = has_markup

    def temporary_file_path(self) -> str:
        """Lets FileSystemStorage move the file into place instead of copying it."""
        return self.path

    def discard(self) -> None:
        self.close()
        Path(self.path).unlink(missing_ok=True)


class StagingWriter:
    """Writes a stream once to a staging file beside the media root, hashing and scanning as it goes."""

    def __init__(self) -> None:
        staging_dir = Path(settings.FILE_UPLOAD_TEMP_DIR)
        staging_dir.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(dir=staging_dir, prefix="upload-", delete=False)
        self._hash = hashlib.sha256()
        self.size = 0
        self._head = b""
        self._tail = b""
        self._has_markup = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        if not self._has_markup:
            window = self._tail + chunk
            self._has_markup = ACTIVE_MARKUP.search(window) is not None
            self._tail = window[-_MARKUP_OVERLAP:]
        self._file.write(chunk)

    def finish(self) -> StagedFile:
        self._file.close()
        return StagedFile(
            path=self._file.name, size=self.size, sha256=self._hash.hexdigest(), head=self._head,
            has_markup=self._has_markup,
        )

    def abort(self) -> None:
        self._file.close()
        Path(self._file.name).unlink(missing_ok=True)


def stage_stream(stream, *, chunk_size: int = 1024 * 1024) -> StagedFile:
    """Stage a file-like object read on the server (demo seeding, imports) exactly as an upload."""
    writer = StagingWriter()
    try:
        while chunk := stream.read(chunk_size):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


class HashingUploadHandler(FileUploadHandler):
    """Takes over a multipart upload; sets `upload_too_large` on the request when the body exceeds the limit."""

    chunk_size = 1024 * 1024

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.request.upload_too_large = False
        self._writer: StagingWriter | None = None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._writer = StagingWriter()

    def receive_data_chunk(self, raw_data: bytes, start: int):
        if self._writer.size + len(raw_data) > self.max_bytes:
            self.request.upload_too_large = True
            self.upload_interrupted()
            raise StopUpload(connection_reset=True)
        self._writer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StagedFile:
        staged, self._writer = self._writer.finish(), None
        return staged

    def upload_interrupted(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
