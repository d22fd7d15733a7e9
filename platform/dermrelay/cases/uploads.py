"""Streaming upload intake: hash and size-limit the bytes as they arrive.

Django's default handlers buffer small files in memory and then copy them; this one writes each
chunk once to a staging file beside the media root while computing its SHA-256, so a 1 GB mosaic
is hashed without a second read, and an oversized body is cut off as soon as it crosses the limit.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import weakref
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

HEAD_BYTES = 1024  # enough to sniff every format, DICOM's preamble included, and a browser's sniffing window


class StagedFile(UploadedFile):
    """An uploaded file on local disk with its hash and first bytes."""

    def __init__(self, *, path: str, size: int, sha256: str, head: bytes):
        super().__init__(open(path, "rb"), name=os.path.basename(path), size=size)
        self.path = path
        self.sha256 = sha256
        self.head = head

    def temporary_file_path(self) -> str:
        """Lets FileSystemStorage move the file into place instead of copying it."""
        return self.path

    def close(self) -> None:
        """Closing removes the staging file (like Django's temporary upload files): so a file the multipart
        parser closes when it fails on a later part of the body is not left behind."""
        try:
            super().close()
        finally:
            Path(self.path).unlink(missing_ok=True)

    def discard(self) -> None:
        self.close()


class StagingWriter:
    """Writes a stream once to a staging file beside the media root, hashing as it goes."""

    def __init__(self) -> None:
        staging_dir = Path(settings.FILE_UPLOAD_TEMP_DIR)
        staging_dir.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(dir=staging_dir, prefix="upload-", delete=False)
        # A file never finished (the client went away, the parser failed mid-part) goes with the writer.
        self._remove = weakref.finalize(self, _remove_file, self._file)
        self._hash = hashlib.sha256()
        self.size = 0
        self._head = b""

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._hash.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        self._file.write(chunk)

    def finish(self) -> StagedFile:
        self._remove.detach()
        self._file.close()
        return StagedFile(
            path=self._file.name, size=self.size, sha256=self._hash.hexdigest(), head=self._head
        )

    def abort(self) -> None:
        self._remove()


def _remove_file(file) -> None:
    file.close()
    Path(file.name).unlink(missing_ok=True)


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
        self._received = 0  # file bytes of the whole body: the limit holds for all its files together

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._writer = StagingWriter()

    def receive_data_chunk(self, raw_data: bytes, start: int):
        if self._received + len(raw_data) > self.max_bytes:
            self.request.upload_too_large = True
            self.upload_interrupted()
            raise StopUpload(connection_reset=True)
        self._received += len(raw_data)
        self._writer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StagedFile:
        staged, self._writer = self._writer.finish(), None
        return staged

    def upload_interrupted(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None


def staged_from_path(path: str | os.PathLike, *, chunk_size: int = 1024 * 1024) -> StagedFile:
    """A file already on the staging disk (a finished resumable upload) as a StagedFile: read once
    to hash it and keep its head; the file is not copied."""
    digest, head, size = hashlib.sha256(), b"", 0
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
    return StagedFile(path=str(path), size=size, sha256=digest.hexdigest(), head=head)


FILENAME_MAX_CHARS = 200
_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def sanitised_filename(raw: str) -> str:
    """A client's file name made safe to record and show: the last path component only (either
    slash), no control or bidirectional-override characters, no leading dots, at most 200
    characters (the extension kept). It is recorded for people, never used as a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_FILENAME_CHARS.sub("", name).strip().lstrip(".").strip()
    if len(name) > FILENAME_MAX_CHARS:
        stem, dot, extension = name.rpartition(".")
        suffix = f".{extension}" if dot and stem and len(extension) <= 10 else ""
        name = name[: FILENAME_MAX_CHARS - len(suffix) - 1].rstrip() + "…" + suffix
    return name
