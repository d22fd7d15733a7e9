"""Resumable (tus) uploads of one image: open, append at the offset, finish into the image intake,
terminate, expire. The tus view (cases/tus.py) speaks the protocol; this module keeps the state."""

from __future__ import annotations

import datetime
import errno
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from dermrelay.accounts.models import User
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from .image_files import ImageRejected
from .models import Case, Image, Upload, UploadState
from .services import EDITABLE_STATUSES, CaseLocked, image_create, image_replaceable
from .uploads import staged_from_path

logger = logging.getLogger(__name__)


class UploadError(Exception):
    """A refused step of a resumable upload; the tus view answers with its status and code."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status_code = status or self.status_code
        self.code = code or self.code


def _upload_expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=settings.DERMRELAY_UPLOAD_EXPIRY_SECONDS)


def upload_check_length(*, length: int) -> None:
    """The whole file's declared size: not empty, not over the upload limit."""
    if length == 0:
        raise ImageRejected("The file is empty.", code="empty_file")
    limit = settings.DERMRELAY_UPLOAD_MAX_BYTES
    if length > limit:
        raise ImageRejected(f"The upload of {length} bytes exceeds the limit of {limit} bytes.", code="too_large",
                            status=413)


def upload_create(*, actor: User, case: Case, length: int, fields: dict[str, Any], filename: str = "") -> Upload:
    """Open a resumable upload of one image to a case. Everything that can be checked before the
    bytes arrive is checked now (the fields were validated by the caller): the case is editable,
    the size is within the limit, the image it replaces may be replaced. Its staging file starts
    empty; the row and the file exist together or not at all."""
    upload_check_length(length=length)
    if case.status not in EDITABLE_STATUSES:
        raise CaseLocked(f"Images cannot be added to a case in status '{case.status}'.")
    if fields.get("replaces"):
        image_replaceable(case=case, image_id=uuid.UUID(str(fields["replaces"])), kind=fields["kind"])
    upload = Upload(case=case, created_by=actor, length=length, metadata=fields, filename=filename,
                    expires_at=_upload_expiry())
    path = upload.staging_path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with transaction.atomic():
            _check_open_uploads(actor=actor, adding=length)
            upload.save(force_insert=True)
            audit_record(actor=actor, action="upload_start", object_type="upload", object_id=upload.id,
                         site_id=case.site_id, detail={"case": str(case.id), "filename": filename, "bytes": length,
                                                       "kind": fields.get("kind")})
            with path.open("xb"):
                pass
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return upload


def _check_open_uploads(*, actor: User, adding: int) -> None:
    """One person's unfinished uploads are capped in number and in declared bytes: each reserves
    disk until it ends or expires (24 h), so without a cap one account could reserve the disk.
    Counted with the person's row locked, so that concurrent creations are counted one at a time
    (PostgreSQL; SQLite runs one writer at a time anyway)."""
    User.objects.select_for_update().filter(pk=actor.pk).exists()
    open_uploads = Upload.objects.filter(created_by=actor, state=UploadState.RECEIVING, expires_at__gt=timezone.now())
    totals = open_uploads.aggregate(count=Count("id"), reserved=Sum("length"))
    count, reserved = totals["count"], totals["reserved"] or 0
    most, most_bytes = settings.DERMRELAY_UPLOAD_OPEN_MAX, settings.DERMRELAY_UPLOAD_OPEN_MAX_BYTES
    if count >= most or reserved + adding > most_bytes:
        raise UploadError(
            f"You have {count} unfinished uploads reserving {reserved} bytes; at most {most} uploads and "
            f"{most_bytes} bytes may be open at once. Finish or cancel (DELETE) one, or wait until one expires.",
            status=429, code="too_many_open_uploads")


@contextmanager
def _staging_locked(upload: Upload) -> Iterator[Any]:
    """The upload's staging file, open for writing under an exclusive lock: one request at a time
    writes it (a second gets 423 and, like tus clients do, asks for the offset and tries again).
    The bytes stream under this file lock rather than inside a database transaction, so a slow
    client never holds the database (on SQLite a transaction locks all of it)."""
    try:
        handle = upload.staging_path.open("r+b")
    except FileNotFoundError:
        raise UploadError("The upload's data is gone; start a new upload.", status=410, code="upload_gone") from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise UploadError("Another request is writing this upload; ask for its offset and resume.",
                                  status=423, code="upload_busy") from None
            raise
        yield handle
    finally:
        handle.close()  # closing releases the lock


def _upload_check_open(upload: Upload) -> None:
    if upload.state == UploadState.FAILED:
        raise UploadError(upload.error or "The upload failed.", status=410, code="upload_failed")
    if upload.is_expired():
        raise UploadError("The upload expired before it was finished; start a new upload.", status=410,
                          code="upload_expired")


@dataclass(frozen=True)
class UploadProgress:
    upload: Upload
    image: Image | None  # set once the last byte arrived and the image was stored


def _upload_check_append(upload: Upload, *, offset: int, declared: int) -> UploadProgress | None:
    """Whether a body of `declared` bytes may go at `offset`; the answer itself for a repeated
    final request of a complete upload."""
    if upload.state == UploadState.COMPLETE:
        if offset == upload.length and declared == 0:
            return UploadProgress(upload, upload.image)
        raise UploadError("The upload is already complete.", status=409, code="upload_complete")
    _upload_check_open(upload)
    if offset != upload.offset:
        raise UploadError(f"Upload-Offset {offset} does not match the upload's offset {upload.offset}.",
                          status=409, code="offset_mismatch")
    if offset + declared > upload.length:
        raise UploadError(f"The body of {declared} bytes at offset {offset} would exceed the upload's "
                          f"length of {upload.length} bytes.", status=413, code="exceeds_length")
    return None


def upload_append(*, upload: Upload, actor: User, offset: int, stream, declared: int,
                  chunk_size: int = 1024 * 1024) -> UploadProgress:
    """Append one PATCH body at `offset` (which must be where the upload stands) and, with the last
    byte, store the image. `stream.read(n)` gives the body; `declared` is its Content-Length.

    The body never takes the file past Upload-Length (refused before a byte is written). A client
    that goes away mid-body keeps every byte that was written; the stored offset is set from the
    file itself, so it always equals the bytes on disk.
    """
    upload = Upload.objects.select_related("case", "image").get(pk=upload.pk)
    if (finished := _upload_check_append(upload, offset=offset, declared=declared)) is not None:
        return finished  # a finished upload has no staging file left to lock
    with _staging_locked(upload) as handle:
        with transaction.atomic():  # the row again, locked: another request may have finished it meanwhile
            upload = Upload.objects.select_for_update(of=("self",)).select_related("case", "image").get(pk=upload.pk)
            if (finished := _upload_check_append(upload, offset=offset, declared=declared)) is not None:
                return finished
        on_disk = os.fstat(handle.fileno()).st_size
        if on_disk < upload.offset:
            _upload_fail(upload, actor=actor, message="The upload's data was lost on the server; start a new upload.",
                         code="upload_gone")
            raise UploadError("The upload's data was lost on the server; start a new upload.", status=410,
                              code="upload_gone")
        handle.truncate(upload.offset)  # bytes a crashed request wrote but never recorded are not counted
        handle.seek(upload.offset)
        received, interrupted = 0, None
        try:
            while received < declared:
                chunk = stream.read(min(chunk_size, declared - received))
                if not chunk:
                    break  # the client went away: keep what came
                handle.write(chunk)
                received += len(chunk)
        except OSError as exc:  # UnreadablePostError and socket errors: keep what was written
            interrupted = exc
        handle.flush()
        os.fsync(handle.fileno())
        written = os.fstat(handle.fileno()).st_size
        if interrupted is not None:
            logger.info("upload %s interrupted at %s of %s bytes: %s", upload.id, written, upload.length, interrupted)
        if written == upload.length:
            # The last offset is recorded with the outcome (image or refusal): a server that dies while
            # storing the image leaves the previous offset, so the client sends the last chunk again
            # instead of holding an upload that looks finished and has no image.
            upload.offset = written
            return UploadProgress(upload, _upload_finish(upload, actor=actor))
        with transaction.atomic():
            current = Upload.objects.select_for_update().filter(pk=upload.pk).first()
            if current is None:
                raise UploadError("The upload was terminated.", status=404, code="not_found")
            current.offset = written
            current.save(update_fields=["offset", "updated_at"])
        upload.offset = written
        return UploadProgress(upload, None)


def _upload_finish(upload: Upload, *, actor: User) -> Image:
    """The last byte is on disk: hash it once and store the image through the same intake as a
    multipart upload. A refusal marks the upload failed with its message; either way the staging
    file is gone afterwards (moved into storage, or removed)."""
    fields = dict(upload.metadata)
    replaces = fields.pop("replaces", None)
    try:
        staged = staged_from_path(upload.staging_path)
        image, _ = image_create(actor=actor, case=Case.objects.get(pk=upload.case_id), staged=staged,
                                replaces=uuid.UUID(str(replaces)) if replaces else None, **fields)
    except (ImageRejected, CaseLocked, ValidationError) as exc:
        message = exc.message if isinstance(exc, ImageRejected) else (
            "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        code = exc.code if isinstance(exc, ImageRejected) else (
            "case_locked" if isinstance(exc, CaseLocked) else "invalid")
        _upload_fail(upload, actor=actor, message=message, code=code)
        raise
    except Exception:
        logger.exception("upload %s could not be stored", upload.id)
        try:
            _upload_fail(upload, actor=actor, message="The server could not store the image; upload it again.",
                         code="server_error")
        except Exception:  # the database itself may be what failed: the reconciling purge removes the rest
            upload.staging_path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        Upload.objects.filter(pk=upload.pk).update(state=UploadState.COMPLETE, image=image, offset=upload.length,
                                                   updated_at=timezone.now())
        audit_record(actor=actor, action="upload_complete", object_type="upload", object_id=upload.id,
                     site_id=upload.case.site_id,
                     detail={"case": str(upload.case_id), "image": str(image.id), "filename": upload.filename,
                             "bytes": upload.length, "sha256": image.sha256})
    upload.state, upload.image = UploadState.COMPLETE, image
    return image


def _upload_fail(upload: Upload, *, actor: User, message: str, code: str) -> None:
    """The upload cannot become an image: its bytes go, its row keeps the reason (what came is counted)."""
    upload.staging_path.unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).update(state=UploadState.FAILED, error=message[:500], error_code=code[:40],
                                               offset=upload.offset, updated_at=timezone.now())
    audit_record(actor=actor, action="upload_failed", object_type="upload", object_id=upload.id,
                 site_id=upload.case.site_id, outcome=AuditOutcome.FAILED,
                 detail={"case": str(upload.case_id), "filename": upload.filename, "code": code})
    upload.state, upload.error, upload.error_code = UploadState.FAILED, message[:500], code


def upload_terminate(*, upload: Upload, actor: User) -> None:
    """tus termination: the staging file and the row go (an image already stored stays)."""
    try:
        with _staging_locked(upload):
            _upload_delete(upload, actor=actor, action="upload_terminate")
    except UploadError as exc:
        if exc.code != "upload_gone":
            raise
        _upload_delete(upload, actor=actor, action="upload_terminate")  # finished or failed: no file left


def _upload_delete(upload: Upload, *, actor: User | None, action: str) -> None:
    with transaction.atomic():
        deleted, _ = Upload.objects.filter(pk=upload.pk).delete()
        if deleted:
            audit_record(actor=actor, action=action, object_type="upload", object_id=upload.id,
                         site_id=upload.case.site_id, detail={"case": str(upload.case_id), "filename": upload.filename,
                                                              "offset": upload.offset, "bytes": upload.length})
    upload.staging_path.unlink(missing_ok=True)


FINISHED_UPLOAD_KEEP = datetime.timedelta(days=7)  # a finished upload's answer (its image or error) is kept this long


def upload_expired_purge(*, now: datetime.datetime | None = None) -> int:
    """Remove the staging files and rows of unfinished uploads past their expiry, and the rows of
    finished ones a week after their expiry. An upload being written is left for the next run."""
    now = now or timezone.now()
    purged = 0
    stale = Upload.objects.filter(state=UploadState.RECEIVING, expires_at__lte=now).select_related("case")
    for upload in stale:
        try:
            with _staging_locked(upload):
                _upload_delete(upload, actor=None, action="upload_expire")
        except UploadError as exc:
            if exc.code == "upload_busy":
                continue
            _upload_delete(upload, actor=None, action="upload_expire")
        purged += 1
    old = Upload.objects.filter(state__in=[UploadState.COMPLETE, UploadState.FAILED],
                                expires_at__lte=now - FINISHED_UPLOAD_KEEP)
    purged += old.delete()[0]
    return purged
