"""Stored files beyond one model's FileField: work folders for derivations, publishing a folder of
tiles under a prefix, and removing everything under a prefix. One module, so that pyramids,
overlays and run outputs are written and removed the same way on local disk and object storage."""

from __future__ import annotations

import contextvars
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage


def work_dir() -> Path:
    """A fresh folder on the media root's file system when storage is local, so publishing is a rename."""
    if isinstance(default_storage, FileSystemStorage):
        base = Path(settings.MEDIA_ROOT) / ".work"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=base))
    return Path(tempfile.mkdtemp(dir=settings.FILE_UPLOAD_TEMP_DIR))


def stale_sweep(*, folder: Path, older_than_seconds: float, pattern: str = "*") -> int:
    """Remove the files and folders in `folder` named like `pattern` that nothing has written for
    `older_than_seconds`: what a process killed mid-work left behind (live work is written to, so
    it stays young). Returns how many were removed."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for entry in folder.glob(pattern):
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
        except FileNotFoundError:
            continue  # removed meanwhile by its own process
    return removed


def work_dirs_sweep(*, older_than_seconds: float) -> int:
    """Work folders left by workers killed mid-derivation (derivations take seconds to minutes)."""
    return stale_sweep(folder=Path(settings.MEDIA_ROOT) / ".work", older_than_seconds=older_than_seconds)


STAGING_PATTERNS = ("upload-*", "deidentify-*")  # cases/uploads.py StagingWriter, cases/deidentify.py


def staging_sweep(*, older_than_seconds: float) -> int:
    """Staging files of multipart uploads (and de-identified copies) left by a web process killed
    mid-request; tus uploads keep theirs under staging/tus/ until they expire (cases/resumable_uploads.py)."""
    staging = Path(settings.FILE_UPLOAD_TEMP_DIR)
    return sum(stale_sweep(folder=staging, older_than_seconds=older_than_seconds, pattern=pattern)
               for pattern in STAGING_PATTERNS)


# The job running in this context (jobs/services.py) hears of every output prefix before anything is
# written under it, and keeps a ledger: what an attempt wrote and never committed (its process was
# killed, its database was lost) is removed instead of lying there for good.
output_listener: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("output_listener", default=None)


def output_intend(prefix: str) -> None:
    """Say, before writing, that outputs are about to go under `prefix` (a no-op outside a job)."""
    listener = output_listener.get()
    if listener is not None:
        listener(prefix)


def folder_publish(local_dir: Path, prefix: str) -> None:
    """Move a finished folder (a pyramid) under `prefix`: a rename on local disk, else file by file."""
    output_intend(prefix)
    if isinstance(default_storage, FileSystemStorage):
        target = Path(default_storage.path(prefix))
        target.parent.mkdir(parents=True, exist_ok=True)
        local_dir.rename(target)
        return
    for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            default_storage.save(f"{prefix}/{path.relative_to(local_dir).as_posix()}", File(handle))


def prefix_delete(prefix: str) -> None:
    """Remove everything published under a prefix (local folder or every object under it)."""
    if isinstance(default_storage, FileSystemStorage):
        shutil.rmtree(default_storage.path(prefix), ignore_errors=True)
        return
    folders = [prefix]
    while folders:
        folder = folders.pop()
        subfolders, files = default_storage.listdir(folder)
        folders += [f"{folder}/{name}" for name in subfolders]
        for name in files:
            default_storage.delete(f"{folder}/{name}")
