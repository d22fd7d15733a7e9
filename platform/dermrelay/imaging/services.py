"""Making stored images viewable: display window, caption crop, Deep Zoom pyramids, thumbnail.

Everything streams through libvips (sequential access): a 144-megapixel mosaic never exists as a
full-resolution array in memory, 8-bit or float. The pyramid is written once into a work folder
beside the media root and moved into place, or uploaded file by file to object storage.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyvips
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import RCM_KINDS, CaseStatus, Image, ImageKind, ImageStatus
from dermrelay.cases.selectors import case_annotatable
from dermrelay.cases.services import CaseLocked, ImageConflict
from dermrelay.jobs.services import JobEffects, job_enqueue, job_output_retire, job_reset, job_run
from dermrelay.storage import folder_publish, prefix_delete, work_dir
from inference.serving.image_source import open_image
from inference.serving.preprocessing import apply_window, display_window

from .models import DerivationJob, DeviceProfile, Pyramid, Registration, RegistrationSource
from .registration import check_matrix, fit_affine

logger = logging.getLogger(__name__)
TILE_SIZE = 254
TILE_OVERLAP = 1
TILE_SUFFIX = ".jpeg[Q=85,keep=none]"


def derivation_request(*, image: Image) -> DerivationJob:
    """Queue the derivation of a newly stored image (inside the transaction that stores it)."""
    job, created = DerivationJob.objects.get_or_create(image=image)
    return job_enqueue(job) if created else job


def device_profile_for(*, image: Image) -> DeviceProfile | None:
    if image.kind not in RCM_KINDS:
        return None
    if image.device_profile_code:
        return DeviceProfile.objects.get(code=image.device_profile_code)
    return next((p for p in DeviceProfile.objects.filter(is_active=True) if p.matches(image.width, image.height)), None)


def _display_window(path: str, frames: int, crop) -> tuple[float, float] | None:
    """For more than 8 bits: the percentile window over every frame, streamed once."""
    probe = open_image(path)
    if probe.format == "uchar":
        return None
    image = pyvips.Image.new_from_file(path, access="sequential", n=frames) if frames > 1 else probe
    if crop and frames == 1:
        image = image.crop(*crop)
    return display_window(image)


def _viewable(image: pyvips.Image, crop, window) -> pyvips.Image:
    if crop:
        image = image.crop(*crop)
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if window is not None:
        image = apply_window(image, window)
    elif image.format != "uchar":
        image = image.cast("uchar")
    return image


def _smallest_whole_tile(frame_dir: Path) -> Path:
    """The pyramid level whose single tile holds the whole frame: it is the thumbnail."""
    levels = sorted((int(p.name) for p in frame_dir.iterdir() if p.name.isdigit()), reverse=True)
    for level in levels:
        tiles = list((frame_dir / str(level)).iterdir())
        if len(tiles) == 1:
            return tiles[0]
    raise RuntimeError(f"no single-tile level in {frame_dir}")


def frame_name(frame: int) -> str:
    return f"f{frame:04d}"


def derivation_run(job: DerivationJob) -> JobEffects:
    """The work of a derivation job: files only; the database changes come back as effects."""
    image = Image.objects.select_related("case").get(pk=job.image_id)
    profile = device_profile_for(image=image)
    crop = [profile.crop_x, profile.crop_y, profile.crop_width, profile.crop_height] if profile else None
    width, height = (crop[2], crop[3]) if crop else (image.width, image.height)
    prefix = f"derived/{image.case.site_id}/{image.id}/pyramid-{uuid.uuid4().hex[:12]}"
    work = work_dir()
    try:
        source = _local_source(image, work)
        window = _display_window(str(source), image.frames, crop)
        pyramid_dir = work / "pyramid"
        pyramid_dir.mkdir()
        for frame in range(image.frames):
            viewable = _viewable(open_image(str(source), page=frame), crop, window)
            viewable.dzsave(str(pyramid_dir / frame_name(frame)), tile_size=TILE_SIZE, overlap=TILE_OVERLAP,
                            suffix=TILE_SUFFIX, layout="dz", keep="none")
            (pyramid_dir / f"{frame_name(frame)}_files" / "vips-properties.xml").unlink(missing_ok=True)  # may hold PHI
        shutil.copyfile(_smallest_whole_tile(pyramid_dir / f"{frame_name(image.frames // 2)}_files"),
                        pyramid_dir / "thumbnail.jpg")
        folder_publish(pyramid_dir, prefix)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    thumbnail_key = f"{prefix}/thumbnail.jpg"

    def apply() -> None:
        previous = Pyramid.objects.filter(image=image).first()
        Pyramid.objects.update_or_create(image=image, defaults={
            "prefix": prefix, "width": width, "height": height, "frames": image.frames, "tile_size": TILE_SIZE,
            "overlap": TILE_OVERLAP, "tile_format": "jpeg", "window_low": window[0] if window else None,
            "window_high": window[1] if window else None, "device_profile": profile, "crop": crop,
        })
        Image.objects.filter(pk=image.pk).update(thumbnail=thumbnail_key, status=ImageStatus.READY, status_detail="")
        image.status = ImageStatus.READY
        if previous is not None and previous.prefix != prefix:
            job_output_retire(job=job, prefix=previous.prefix)

    return JobEffects(apply=apply, discard=lambda: prefix_delete(prefix))


def _local_source(image: Image, work: Path) -> Path:
    """The original as a local file: read in place on local storage, else streamed to the work folder."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(image.file.name))
    target = work / "source"
    with image.file.open("rb") as stored, target.open("wb") as local:
        for chunk in stored.chunks():
            local.write(chunk)
    return target


@contextmanager
def image_local_path(*, image: Image) -> Iterator[Path]:
    """The original file as a local path for libvips, for as long as the block runs."""
    work = work_dir()
    try:
        yield _local_source(image, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def derivation_execute(*, image: Image) -> str | None:
    """Derive an image now, in this process (admin re-derivation, tests): a finished job is reset."""
    job, _ = DerivationJob.objects.get_or_create(image=image)
    job_reset(job)
    return job_run(model=DerivationJob, job_id=job.pk, work=derivation_run)


def image_mark_failed(*, image_id, reason: str) -> None:
    Image.objects.filter(pk=image_id).update(status=ImageStatus.FAILED, status_detail=reason[:500])


MATRIX_SOURCES = (RegistrationSource.DEVICE, RegistrationSource.PLACED, RegistrationSource.AUTOMATIC)


@transaction.atomic
def registration_set(*, actor, mosaic: Image, dermoscopy: Image, matrix=None, landmarks=None,
                     source: str = RegistrationSource.DEVICE):
    """Record where the case's dermoscopy image lies on a mosaic, from a matrix (with who made it:
    the device, a person placing the field, or an accepted proposal) or landmark pairs. The clinic
    and the case's assigned reader may (cases.selectors.annotation_scope): a registration, like the
    lesion outline, is drawn on the images, not a change of the clinic's records."""
    if not case_annotatable(user=actor, case=mosaic.case):
        audit_record(actor=actor, action="update", object_type="registration", object_id=mosaic.id,
                     site_id=mosaic.case.site_id, outcome=AuditOutcome.DENIED)
        raise PermissionDenied("Only the clinic or the case's assigned reader may register its images.")
    if mosaic.kind not in RCM_KINDS:
        raise ValidationError({"mosaic": "Registrations map onto RCM mosaics or stacks."})
    if dermoscopy.kind != ImageKind.DERMOSCOPY or dermoscopy.case_id != mosaic.case_id:
        raise ValidationError({"dermoscopy": "Give a dermoscopy image of the same case."})
    if mosaic.case.status in (CaseStatus.SIGNED, CaseStatus.AMENDED):
        raise CaseLocked("The case is signed: its registrations can no longer change.")
    for image in (mosaic, dermoscopy):
        if image.replaced_by_id is not None:  # history keeps the registration it was judged with
            raise ImageConflict(f"Image {image.id} was replaced by image {image.replaced_by_id}: register the "
                                "current images.", code="image_replaced")
    if matrix is not None:
        if source not in MATRIX_SOURCES:
            raise ValidationError({"source": f"A matrix comes from one of: {', '.join(MATRIX_SOURCES)}."})
        checked, rms = check_matrix(matrix, width=dermoscopy.width, height=dermoscopy.height), None
    else:
        fit = fit_affine([p["dermoscopy"] for p in landmarks], [p["mosaic"] for p in landmarks],
                         width=dermoscopy.width, height=dermoscopy.height)
        checked, source, rms = fit.matrix, RegistrationSource.LANDMARKS, fit.rms_error_px
    registration, _ = Registration.objects.update_or_create(mosaic=mosaic, defaults={
        "dermoscopy": dermoscopy, "matrix": checked, "source": source, "landmarks": landmarks,
        "rms_error_px": rms, "created_by": actor,
    })
    audit_record(actor=actor, action="update", object_type="registration", object_id=mosaic.id,
                 site_id=mosaic.case.site_id, detail={"source": source, "dermoscopy": str(dermoscopy.id)})
    return registration
