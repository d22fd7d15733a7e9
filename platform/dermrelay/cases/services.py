"""Writes to patients, lesions, cases and images. Every change of patient data is audited here."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from dermrelay.accounts.models import Site, User
from dermrelay.accounts.selectors import site_technicians
from dermrelay.audit.services import audit_record

from .image_files import EXTENSIONS, ImageRejected, assemble_stack, inspect_image_file
from .models import Case, CaseStatus, Image, ImageStatus, Lesion, Patient
from .uploads import StagedFile, stage_stream

logger = logging.getLogger(__name__)


class InvalidTransition(Exception):
    """A case status change that the state machine does not allow."""


class CaseLocked(Exception):
    """The case is past the point where its data or images may change."""


class ImageConflict(ImageRejected):
    """A change refused because of the case's image history (409): replacing an image that is no
    longer current, deleting or changing an image kept as history, the same bytes as another image
    given as a replacement. Answered like a refused upload: {"detail", "code"}."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message, code=code, status=409)


# DESIGN.md: draft → submitted → processing → ready_for_reading → in_reading → signed, recall from
# processing or ready_for_reading, amended after signed. A recalled case is re-imaged and resubmitted;
# a reader may release a case back to the worklist.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.DRAFT: frozenset({CaseStatus.SUBMITTED}),
    CaseStatus.SUBMITTED: frozenset({CaseStatus.PROCESSING}),
    CaseStatus.PROCESSING: frozenset({CaseStatus.READY_FOR_READING, CaseStatus.RECALL_REQUESTED}),
    CaseStatus.READY_FOR_READING: frozenset({CaseStatus.IN_READING, CaseStatus.RECALL_REQUESTED}),
    CaseStatus.IN_READING: frozenset({CaseStatus.SIGNED, CaseStatus.READY_FOR_READING}),
    CaseStatus.RECALL_REQUESTED: frozenset({CaseStatus.SUBMITTED}),
    CaseStatus.SIGNED: frozenset({CaseStatus.AMENDED}),
    CaseStatus.AMENDED: frozenset({CaseStatus.AMENDED}),
}
# Statuses in which the clinic may still change the case and add or remove images.
EDITABLE_STATUSES = frozenset({CaseStatus.DRAFT, CaseStatus.RECALL_REQUESTED})


def _created(instance, *, actor: User, object_type: str, site_id) -> Any:
    """Validate, insert and audit a new record (call inside a transaction)."""
    instance.full_clean()
    instance.save()
    audit_record(actor=actor, action="create", object_type=object_type, object_id=instance.pk, site_id=site_id)
    return instance


def _updated(instance, fields: dict[str, Any], *, actor: User, object_type: str, site_id) -> Any:
    """Save only the fields that differ and audit their names, never their values (they may be PHI)."""
    changed = [name for name, value in fields.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, fields[name])
    if changed:
        instance.full_clean()
        instance.save(update_fields=[*changed, *(["updated_at"] if hasattr(instance, "updated_at") else [])])
    audit_record(
        actor=actor, action="update", object_type=object_type, object_id=instance.pk, site_id=site_id,
        detail={"fields": changed},
    )
    return instance


@transaction.atomic
def patient_create(*, actor: User, site: Site, **fields: Any) -> Patient:
    return _created(Patient(site=site, **fields), actor=actor, object_type="patient", site_id=site.id)


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, **fields: Any) -> Patient:
    return _updated(patient, fields, actor=actor, object_type="patient", site_id=patient.site_id)


@transaction.atomic
def lesion_create(*, actor: User, patient: Patient, **fields: Any) -> Lesion:
    return _created(Lesion(patient=patient, **fields), actor=actor, object_type="lesion", site_id=patient.site_id)


LESION_ANALYSIS_INPUT_FIELDS = ("anatom_site", "anatom_site_general")  # diagnosis model B reads the location


@transaction.atomic
def lesion_update(*, actor: User, lesion: Lesion, **fields: Any) -> Lesion:
    return _updated(lesion, fields, actor=actor, object_type="lesion", site_id=lesion.patient.site_id)


def _check_technician(*, site: Site, technician: User | None) -> None:
    if technician is not None and not site_technicians(site=site).filter(pk=technician.pk).exists():
        raise ValidationError({"technician": "The technician must hold the technician role at the case's site."})


@transaction.atomic
def case_create(*, actor: User, lesion: Lesion, **fields: Any) -> Case:
    site = lesion.patient.site
    _check_technician(site=site, technician=fields.get("technician"))
    return _created(Case(lesion=lesion, site=site, created_by=actor, **fields), actor=actor, object_type="case",
                    site_id=site.id)


@transaction.atomic
def case_update(*, actor: User, case: Case, **fields: Any) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status not in EDITABLE_STATUSES:
        raise CaseLocked(f"A case in status '{case.status}' can no longer be changed.")
    if "technician" in fields:
        _check_technician(site=case.site, technician=fields["technician"])
    return _updated(case, fields, actor=actor, object_type="case", site_id=case.site_id)


@transaction.atomic
def case_transition(*, case: Case, to_status: str, actor: User | None, reason: str = "") -> Case:
    """The only way a case changes status. Locks the row so two requests cannot race past a check."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if to_status not in CASE_TRANSITIONS.get(case.status, frozenset()):
        raise InvalidTransition(f"A case cannot go from '{case.status}' to '{to_status}'.")
    from_status = case.status
    case.status = to_status
    update_fields = ["status", "updated_at"]
    if to_status == CaseStatus.SUBMITTED:
        case.submitted_at = timezone.now()
        update_fields.append("submitted_at")
    case.save(update_fields=update_fields)
    audit_record(
        actor=actor, action="transition", object_type="case", object_id=case.id, site_id=case.site_id,
        detail={"from": from_status, "to": to_status, **({"reason": reason} if reason else {})},
    )
    return case


def case_submit(*, case: Case, actor: User) -> Case:
    """Hand the case over for processing and reading; it needs at least one image, none failed
    (of its current images: a failed capture that was replaced is history, not a blocker)."""
    images = list(case.images.current().values_list("status", flat=True))
    if not images:
        raise InvalidTransition("A case needs at least one image before it can be submitted.")
    if ImageStatus.FAILED in images:
        raise InvalidTransition("Replace or remove the images that failed processing before submitting.")
    return case_transition(case=case, to_status=CaseStatus.SUBMITTED, actor=actor)


def case_request_recall(*, case: Case, actor: User, reason: str) -> Case:
    return case_transition(case=case, to_status=CaseStatus.RECALL_REQUESTED, actor=actor, reason=reason)


def case_advance(*, case_id: uuid.UUID) -> Case:
    """Move a submitted case forward as far as its images allow. Safe to call any number of times."""
    case = Case.objects.get(pk=case_id)
    if case.status == CaseStatus.SUBMITTED:
        case = case_transition(case=case, to_status=CaseStatus.PROCESSING, actor=None)
    if case.status == CaseStatus.PROCESSING:
        statuses = set(case.images.current().values_list("status", flat=True))
        if statuses == {ImageStatus.READY}:
            case = case_transition(case=case, to_status=CaseStatus.READY_FOR_READING, actor=None)
    return case


def image_replaceable(*, case: Case, image_id: uuid.UUID, kind: str, lock: bool = False) -> Image:
    """The image of this case that a new capture of `kind` may replace: it must be current and of
    the same kind. With lock, its row is locked (inside the caller's transaction) so two
    replacements of one image cannot both win."""
    found = Image.objects.filter(case=case, pk=image_id)
    if lock:
        found = found.select_for_update(of=("self",))
    old = found.first()
    if old is None:
        raise ValidationError({"replaces": "No image of this case has this id."})
    if old.kind != kind:
        raise ValidationError({"replaces": f"A {old.get_kind_display()} can only be replaced by another one, "
                                           f"not by a {Image(kind=kind).get_kind_display()}."})
    if old.replaced_by_id is not None:
        raise ImageConflict(f"Image {old.id} was already replaced by image {old.replaced_by_id}; replace that one.",
                            code="already_replaced")
    return old


def image_create(*, actor: User, case: Case, staged: StagedFile, replaces: uuid.UUID | None = None,
                 **fields: Any) -> tuple[Image, bool]:
    """Store a verified upload: returns (image, created). The same bytes twice give the first image.

    With `replaces`, the new image replaces that current image of the same case and kind in the
    same transaction (the old one stays, as history). Nothing is half-stored: the staging file is
    always removed, the stored file is deleted if the row cannot be committed, and no row is written
    before the file is proven whole.
    """
    try:
        if case.status not in EDITABLE_STATUSES:
            raise CaseLocked(f"Images cannot be added to a case in status '{case.status}'.")
        existing = Image.objects.filter(case=case, sha256=staged.sha256).first()
        if existing is not None:
            if replaces is None or Image.objects.filter(pk=replaces, replaced_by=existing).exists():
                return existing, False  # a repeated request, replacement included, gives the same answer
            raise ImageConflict(
                f"These bytes are already image {existing.id} of this case: a replacement must be a new capture.",
                code="duplicate_image")
        if replaces is not None:
            image_replaceable(case=case, image_id=replaces, kind=fields["kind"])  # refused before any work
        if staged.size == 0:
            raise ImageRejected("The file is empty.", code="empty_file")
        header = inspect_image_file(
            path=staged.path, head=staged.head, kind=fields["kind"], max_frames=settings.DERMRELAY_MAX_STACK_FRAMES
        )
        image_id = uuid.uuid4()
        key = default_storage.save(f"originals/{case.site_id}/{image_id}.{EXTENSIONS[header.file_format]}", staged)
        try:
            with transaction.atomic():
                old = image_replaceable(case=case, image_id=replaces, kind=fields["kind"], lock=True) if replaces else None
                image = Image.objects.create(
                    id=image_id, case=case, file=key, sha256=staged.sha256, size_bytes=staged.size,
                    file_format=header.file_format, width=header.width, height=header.height,
                    frames=header.frames, channels=header.channels, bit_depth=header.bit_depth,
                    uploaded_by=actor, **fields,
                )
                audit_record(
                    actor=actor, action="upload", object_type="image", object_id=image.id, site_id=case.site_id,
                    detail={"case": str(case.id), "sha256": staged.sha256, "bytes": staged.size,
                            **({"replaces": str(old.id)} if old else {})},
                )
                if old is not None:
                    _image_replace(old=old, new=image, actor=actor)
        except IntegrityError:
            default_storage.delete(key)
            return Image.objects.get(case=case, sha256=staged.sha256), False
        except BaseException:
            default_storage.delete(key)
            raise
        return image, True
    finally:
        staged.discard()


def _image_replace(*, old: Image, new: Image, actor: User) -> None:
    """Mark `old` as replaced by `new` (inside the transaction that creates `new`)."""
    old.replaced_by, old.replaced_at = new, timezone.now()
    old.save(update_fields=["replaced_by", "replaced_at", "updated_at"])
    audit_record(actor=actor, action="replace", object_type="image", object_id=old.id, site_id=old.case.site_id,
                 detail={"case": str(old.case_id), "replaced_by": str(new.id), "kind": old.kind})


def stack_stage(*, frames: list[StagedFile]) -> StagedFile:
    """Frames uploaded as separate files (a device's folder of images), in order, as one staged
    multi-page TIFF that then goes through intake like any upload."""
    target = Path(settings.FILE_UPLOAD_TEMP_DIR) / f"stack-{uuid.uuid4().hex}.tif"
    try:
        assemble_stack(frame_paths=[f.path for f in frames], heads=[f.head for f in frames], target=str(target),
                       max_frames=settings.DERMRELAY_MAX_STACK_FRAMES)
        with target.open("rb") as handle:
            return stage_stream(handle)
    finally:
        target.unlink(missing_ok=True)
        for frame in frames:
            frame.discard()


ANALYSIS_INPUT_FIELDS = ("pixel_spacing_um", "depth_level")  # what the analysis plans and models read


def _check_current(image: Image, *, action: str) -> None:
    if image.replaced_by_id is not None:
        raise ImageConflict(
            f"Image {image.id} was replaced by image {image.replaced_by_id} and is kept as history: it cannot be "
            f"{action}. Delete the replacement to make it current again.", code="image_replaced")


@transaction.atomic
def image_update(*, actor: User, image: Image, **fields: Any) -> Image:
    if image.case.status not in EDITABLE_STATUSES:
        raise CaseLocked(f"Images of a case in status '{image.case.status}' can no longer be changed.")
    _check_current(image, action="changed")
    return _updated(image, fields, actor=actor, object_type="image", site_id=image.case.site_id)


def image_delete(*, actor: User, image: Image) -> Image | None:
    """Remove a wrongly uploaded image while the case is still being put together.

    A technician who deletes a re-capture expects the capture it replaced back: that one becomes
    current again (its analyses and judgement were kept) and is returned. An image kept as history
    cannot be deleted while its replacement exists: history is only unwound from the newest end.
    """
    if image.case.status not in EDITABLE_STATUSES:
        raise CaseLocked("Images can only be removed while the case is a draft or recalled.")
    keys = [name for name in (image.file.name, image.thumbnail.name) if name]
    with transaction.atomic():
        image = Image.objects.select_for_update(of=("self",)).select_related("case").get(pk=image.pk)
        _check_current(image, action="deleted")
        restored = Image.objects.select_for_update(of=("self",)).filter(replaced_by=image).first()
        audit_record(
            actor=actor, action="delete", object_type="image", object_id=image.id, site_id=image.case.site_id,
            detail={"sha256": image.sha256, **({"restores": str(restored.id)} if restored else {})},
        )
        if restored is not None:
            restored.replaced_by, restored.replaced_at = None, None
            restored.save(update_fields=["replaced_by", "replaced_at", "updated_at"])
            audit_record(actor=actor, action="restore", object_type="image", object_id=restored.id,
                         site_id=image.case.site_id, detail={"case": str(image.case_id), "deleted": str(image.id)})
        image.delete()
        transaction.on_commit(lambda: [default_storage.delete(key) for key in keys])
    return restored
