"""Reads of the quality gate: thresholds, the effective lesion outline, each case's quality as the
capture page, the reader and QA see it."""

from __future__ import annotations

import numpy as np
from django.core.files.storage import default_storage
from django.db import models as db
from PIL import Image as PILImage

from dermrelay.analysis.masks import outline_from_mask
from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis.plans import QUALITY_STEP, steps_for_image
from dermrelay.analysis.selectors import model_identity, run_list, run_summary
from dermrelay.cases.models import Case, Image, ImageKind, ImageStatus
from dermrelay.jobs.models import JobState

from .models import (
    DEFAULT_REIMAGE_AT_PERCENT, DEFAULT_REVIEW_AT_PERCENT, VERDICT_RANK, LesionOutline, LesionSource, MosaicQuality,
    QualityPolicy, VerdictBasis,
)


def quality_thresholds(*, site_id) -> tuple[float, float]:
    policy = QualityPolicy.objects.filter(site_id=site_id).first()
    if policy is None:
        return DEFAULT_REVIEW_AT_PERCENT, DEFAULT_REIMAGE_AT_PERCENT
    return policy.review_at_percent, policy.reimage_at_percent


def current_quality_run(*, image: Image) -> AnalysisRun | None:
    """The latest finished successful quality run: after an admin's re-run, that one counts."""
    return (AnalysisRun.objects.filter(image=image, step=QUALITY_STEP, state=JobState.SUCCEEDED)
            .select_related("model_version").order_by("-finished_at").first())


def lesion_outline_effective(*, dermoscopy: Image) -> LesionOutline | None:
    """A person's outline wins over the model's."""
    outlines = {o.source: o for o in LesionOutline.objects.filter(dermoscopy=dermoscopy)}
    return outlines.get(LesionSource.PERSON) or outlines.get(LesionSource.MODEL)


def case_verdict_expression() -> db.Subquery:
    """For annotating a queryset of cases: the worst verdict among the case's current mosaics (null
    when none is judged): the case list shows it with one query for the page."""
    rank = db.Case(*(db.When(verdict=verdict, then=db.Value(value)) for verdict, value in VERDICT_RANK.items()),
                   default=db.Value(-1), output_field=db.IntegerField())
    worst = (MosaicQuality.objects.filter(image__case=db.OuterRef("pk"), image__kind=ImageKind.RCM_MOSAIC,
                                          image__replaced_by__isnull=True)
             .annotate(rank=rank).order_by("-rank").values("verdict")[:1])
    return db.Subquery(worst, output_field=db.CharField())


def _interval(low: float | None, high: float | None) -> dict | None:
    return None if low is None or high is None else {"low": round(low, 2), "high": round(high, 2)}


def _problem_region_entry(stored: dict | None) -> dict | None:
    """The documented shape (description, dermoscopy_image, bbox, mosaic_bbox, share_percent) plus
    the centroids and what the pixels were counted within."""
    if not stored:
        return None
    keys = ("description", "dermoscopy_image", "bbox", "mosaic_bbox", "share_percent", "within", "centroid",
            "mosaic_centroid")
    return {key: stored.get(key) for key in keys}


def _mosaic_entry(image: Image, runs: list[AnalysisRun], judged: MosaicQuality | None) -> dict:
    quality_runs = [r for r in runs if r.step == QUALITY_STEP]
    latest = quality_runs[-1] if quality_runs else None
    if not any(step.step == QUALITY_STEP for step in steps_for_image(image)):
        state = "not_applicable"
    elif image.status == ImageStatus.FAILED:
        state = "failed"
    elif image.status != ImageStatus.READY:
        state = "preparing"
    elif latest is None:  # a step with an installed model gets its run with the image's readiness
        state = "not_analysed"
    elif latest.state in (JobState.QUEUED, JobState.RUNNING):
        state = "analysing"
    elif latest.state == JobState.FAILED and judged is None:
        state = "failed"
    elif judged is None:
        state = "judging"
    else:
        state = "done"
    entry = {
        "image": str(image.id), "depth_level": image.depth_level, "depth_um": image.depth_um, "state": state,
        "error": (image.status_detail if image.status == ImageStatus.FAILED else
                  run_summary(latest)["error"] if latest is not None and latest.state == JobState.FAILED else None),
        "run": run_summary(latest) if latest is not None else None,
        "verdict": None,
        "note": "The quality model is meant for mosaics at the dermal-epidermal junction." if state == "not_applicable" else None,
    }
    if judged is not None:
        entry.update({
            "verdict": judged.verdict, "basis": judged.basis, "basis_note": judged.basis_note,
            "percent_whole": round(judged.percent_whole, 2),
            "percent_lesion": round(judged.percent_lesion, 2) if judged.percent_lesion is not None else None,
            "lesion_source": judged.lesion_source or None,
            "lesion_imaged_percent": round(judged.lesion_imaged_percent, 1) if judged.lesion_imaged_percent is not None else None,
            "interval_whole": _interval(judged.percent_whole_low, judged.percent_whole_high),
            "interval_lesion": _interval(judged.percent_lesion_low, judged.percent_lesion_high),
            "interval_coverage": judged.interval_coverage,
            "thresholds": {"review_at_percent": judged.review_at_percent, "reimage_at_percent": judged.reimage_at_percent},
            "agreement": judged.agreement, "model": model_identity(judged.run.model_version),
            "problem_region": _problem_region_entry(judged.problem_region),
            "assessed_at": judged.assessed_at, "judged_run": str(judged.run_id),
        })
    return entry


def agreements_named(agreements: list[dict | None]) -> list[dict | None]:
    """Each expert-vs-model agreement with the annotating expert's name beside their id (one query
    for all), so a page can say who annotated without a user lookup of its own; named at read
    time, so a corrected name shows everywhere."""
    from dermrelay.accounts.models import User  # accounts sits below every app

    ids = {str(a["expert"]) for a in agreements if a and a.get("expert")}
    if not ids:
        return list(agreements)
    names = {str(u.id): u.get_full_name() or u.username for u in User.objects.filter(id__in=ids)}
    return [{**a, "expert_name": names.get(str(a["expert"]))} if a and a.get("expert") else a for a in agreements]


def case_quality(*, case: Case) -> dict:
    """The capture-time answer for a case: per mosaic, where its analysis stands and its verdict;
    for the case, the worst verdict once every mosaic is judged (a partial one before)."""
    mosaics = list(case.images.current().filter(kind=ImageKind.RCM_MOSAIC).order_by("depth_um", "created_at"))
    runs = run_list(images=mosaics)
    judged = {q.image_id: q for q in MosaicQuality.objects.filter(image__in=mosaics).select_related("run__model_version")}
    entries = [_mosaic_entry(m, [r for r in runs if r.image_id == m.id], judged.get(m.id)) for m in mosaics]
    judged_entries = [e for e in entries if "agreement" in e]
    for entry, agreement in zip(judged_entries, agreements_named([e["agreement"] for e in judged_entries])):
        entry["agreement"] = agreement
    verdicts = [e["verdict"] for e in entries if e["verdict"]]
    pending = [e for e in entries if e["state"] in ("preparing", "analysing", "judging")]
    failed = [e for e in entries if e["state"] in ("failed", "not_analysed")]
    if not [e for e in entries if e["state"] != "not_applicable"]:
        state = "no_mosaics"
    elif pending:
        state = "pending"
    else:
        state = "complete"
    verdict = max(verdicts, key=lambda v: VERDICT_RANK[v]) if verdicts else None
    whole_basis = [e for e in entries if e.get("basis") == VerdictBasis.WHOLE_MOSAIC]
    dermoscopy = case.images.current().filter(kind=ImageKind.DERMOSCOPY).order_by("created_at").first()
    outline = lesion_outline_effective(dermoscopy=dermoscopy) if dermoscopy else None
    review_at, reimage_at = quality_thresholds(site_id=case.site_id)
    return {
        "case": str(case.id), "state": state, "verdict": verdict,
        "verdict_is_final": state == "complete" and not failed and verdict is not None,
        "basis": None if not verdicts else (VerdictBasis.WHOLE_MOSAIC if whole_basis else VerdictBasis.LESION),
        "basis_note": (f"{len(whole_basis)} of {len(verdicts)} mosaic(s) judged on the whole mosaic: "
                       + whole_basis[0]["basis_note"]) if whole_basis else None,
        "thresholds": {"review_at_percent": review_at, "reimage_at_percent": reimage_at},
        "lesion_outline": {"image": str(outline.dermoscopy_id), "source": outline.source} if outline else None,
        "mosaics": entries, "failed": len(failed), "pending": len(pending),
    }


def lesion_outline_of(*, dermoscopy: Image) -> dict | None:
    effective = lesion_outline_effective(dermoscopy=dermoscopy)
    if effective is None:
        return None
    has_model = LesionOutline.objects.filter(dermoscopy=dermoscopy, source=LesionSource.MODEL).exists()
    polygon = effective.polygon
    if not polygon and effective.mask:  # a model outline from before outlines were traced at run time
        with default_storage.open(effective.mask, "rb") as handle:
            mask = np.array(PILImage.open(handle)) > 0
        polygon = outline_from_mask(mask, image_size=(dermoscopy.width, dermoscopy.height))
    return {"image": str(dermoscopy.id), "source": effective.source, "polygon": polygon or [],
            "has_model_outline": has_model, "updated_at": effective.updated_at}
