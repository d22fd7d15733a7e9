"""What people draw on a case's images for the gate: the lesion outline on the dermoscopy image
(it wins over the model's), an expert's uninformative areas on a mosaic, and each site's
thresholds. The judgement that follows is the pipeline's step, not these functions'."""

from __future__ import annotations


import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from dermrelay.analysis.models import AnalysisRun
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import LOCKED_STATUSES, Image, ImageKind
from dermrelay.cases.selectors import case_annotatable
from dermrelay.cases.services import CaseLocked, ImageConflict
from dermrelay.imaging import selectors as imaging_selectors


from dermrelay.gate.models import (
    ExpertAnnotation, LesionOutline, LesionSource, QualityPolicy,
)


def check_open(case, *, what: str = "its quality inputs") -> None:
    if case.status in LOCKED_STATUSES:
        raise CaseLocked(f"The case is signed: {what} can no longer change.")


def _check_current(image: Image) -> None:
    """A replaced image is history: its lesion outline stays as it was judged with."""
    if image.replaced_by_id is not None:
        raise ImageConflict(f"Image {image.id} was replaced by image {image.replaced_by_id}; outline the lesion on "
                            "the current dermoscopy image.", code="image_replaced")


ANNOTATION_WHO = {
    False: "the clinic's technicians and site administrators, and the reader the case is assigned to",
    True: "a site administrator of the case's site or the reader the case is assigned to",
}


def _check_annotator(*, actor, image: Image, expert: bool, action: str) -> None:
    """Who may draw on the case's images (cases.selectors.annotation_scope), checked here so that no
    caller can skip it; a refusal is audited."""
    if not case_annotatable(user=actor, case=image.case, expert=expert):
        audit_record(actor=actor, action=action, object_type="expert_annotation" if expert else "lesion_outline",
                     object_id=image.id, site_id=image.case.site_id, outcome=AuditOutcome.DENIED)
        what = "expert annotations" if expert else "the lesion outline"
        raise PermissionDenied(f"Only {ANNOTATION_WHO[expert]} may change {what} of this case.")


def _polygon_checked(points, *, width: int, height: int, field: str) -> list[list[float]]:
    try:
        array = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError({field: "A polygon is a list of [x, y] points."}) from None
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 3:
        raise ValidationError({field: "A polygon needs at least three [x, y] points."})
    if not np.all(np.isfinite(array)):
        raise ValidationError({field: "Polygon points must be finite numbers."})
    if array[:, 0].min() < -1 or array[:, 1].min() < -1 or array[:, 0].max() > width + 1 or array[:, 1].max() > height + 1:
        raise ValidationError({field: f"The polygon leaves the image ({width}x{height} pixels)."})
    doubled_area = np.abs(np.dot(array[:, 0], np.roll(array[:, 1], 1)) - np.dot(array[:, 1], np.roll(array[:, 0], 1)))
    if doubled_area < 2.0:
        raise ValidationError({field: "The polygon encloses no area."})
    return array.round(2).tolist()


def lesion_outline_set(*, actor, dermoscopy: Image, polygon) -> LesionOutline:
    """A person's outline of the lesion on the dermoscopy image (the clinic's, or the assigned
    reader's); it wins over the model's mask and the case's mosaics are judged again at once."""
    _check_annotator(actor=actor, image=dermoscopy, expert=False, action="update_lesion_outline")
    if dermoscopy.kind != ImageKind.DERMOSCOPY:
        raise ValidationError({"image": "The lesion is outlined on the case's dermoscopy image."})
    check_open(dermoscopy.case, what="its lesion outline")
    _check_current(dermoscopy)
    checked = _polygon_checked(polygon, width=dermoscopy.width, height=dermoscopy.height, field="polygon")
    if len(checked) > 10000:
        raise ValidationError({"polygon": "At most 10000 points."})
    with transaction.atomic():
        outline, _ = LesionOutline.objects.update_or_create(
            dermoscopy=dermoscopy, source=LesionSource.PERSON,
            defaults={"polygon": checked, "mask": "", "run": None, "created_by": actor})
        audit_record(actor=actor, action="update", object_type="lesion_outline", object_id=dermoscopy.id,
                     site_id=dermoscopy.case.site_id, detail={"points": len(checked)})
    return outline


def lesion_outline_delete(*, actor, dermoscopy: Image) -> None:
    """Back to the model's outline (or none): the mosaics are judged again."""
    _check_annotator(actor=actor, image=dermoscopy, expert=False, action="delete_lesion_outline")
    check_open(dermoscopy.case, what="its lesion outline")
    _check_current(dermoscopy)
    with transaction.atomic():
        LesionOutline.objects.filter(dermoscopy=dermoscopy, source=LesionSource.PERSON).delete()
        audit_record(actor=actor, action="delete", object_type="lesion_outline", object_id=dermoscopy.id,
                     site_id=dermoscopy.case.site_id)


def expert_annotation_set(*, actor, image: Image, polygons) -> ExpertAnnotation:
    """An expert's uninformative areas on a mosaic (viewable-mosaic pixels), by a site admin or the
    case's assigned reader: the agreement overlay and figures follow (the latest annotation counts)."""
    _check_annotator(actor=actor, image=image, expert=True, action="update_expert_annotation")
    if image.kind != ImageKind.RCM_MOSAIC:
        raise ValidationError({"image": "Expert quality annotations are drawn on RCM mosaics."})
    check_open(image.case, what="its expert annotations")
    pyramid = imaging_selectors.pyramid_of(image=image)
    width, height = (pyramid.width, pyramid.height) if pyramid else (image.width, image.height)
    if not isinstance(polygons, list) or len(polygons) > 1000:
        raise ValidationError({"polygons": "Give a list of at most 1000 polygons."})
    checked = [_polygon_checked(p, width=width, height=height, field="polygons") for p in polygons]
    with transaction.atomic():
        annotation, _ = ExpertAnnotation.objects.update_or_create(image=image, created_by=actor,
                                                                  defaults={"polygons": checked})
        audit_record(actor=actor, action="update", object_type="expert_annotation", object_id=image.id,
                     site_id=image.case.site_id, detail={"polygons": len(checked)})
    return annotation


def expert_annotation_delete(*, actor, image: Image) -> bool:
    """Remove the actor's own annotation of the mosaic; False (nothing audited, nothing judged)
    when they have none, so that a caller does not report a deletion that did not happen."""
    _check_annotator(actor=actor, image=image, expert=True, action="delete_expert_annotation")
    check_open(image.case, what="its expert annotations")
    with transaction.atomic():
        deleted, _ = ExpertAnnotation.objects.filter(image=image, created_by=actor).delete()
        if not deleted:
            return False
        audit_record(actor=actor, action="delete", object_type="expert_annotation", object_id=image.id,
                     site_id=image.case.site_id)
    return True


def quality_policy_set(*, actor, site, review_at_percent: float, reimage_at_percent: float) -> QualityPolicy:
    """A site's thresholds. Open cases are judged again by the reconciler within seconds (the
    judgement records the thresholds it used); signed cases keep theirs."""
    if not (0 < review_at_percent <= reimage_at_percent <= 100):
        raise ValidationError({"review_at_percent": "Thresholds must satisfy 0 < review ≤ re-image ≤ 100."})
    with transaction.atomic():
        policy, _ = QualityPolicy.objects.update_or_create(site=site, defaults={
            "review_at_percent": review_at_percent, "reimage_at_percent": reimage_at_percent, "updated_by": actor})
        audit_record(actor=actor, action="update", object_type="quality_policy", object_id=site.id, site_id=site.id,
                     detail={"review_at_percent": review_at_percent, "reimage_at_percent": reimage_at_percent})
    return policy


def lesion_outline_from_run(*, run: AnalysisRun) -> LesionOutline | None:
    """The model's outline of a dermoscopy image from its finished lesion run (inside the
    transaction that records the run): the mask it found, or none when it found no lesion. A
    person's outline is left as it is and still wins."""
    image = run.image
    if not run.outputs.get("found_lesion"):
        LesionOutline.objects.filter(dermoscopy=image, source=LesionSource.MODEL).delete()
        return None
    outline, _ = LesionOutline.objects.update_or_create(dermoscopy=image, source=LesionSource.MODEL, defaults={
        "mask": run.outputs["files"]["lesion"], "polygon": run.outputs.get("outline"), "run": run, "created_by": None})
    return outline
