"""Reads of analyses for images and cases the caller has already been allowed to see."""

from __future__ import annotations

import numpy as np
from django.core.files.storage import default_storage
from django.db import models as db
from django.db.models import Q
from PIL import Image as PILImage

from dermrelay.cases.models import Case, Image, ImageKind, ImageStatus
from dermrelay.imaging.tiles import tile_url_base
from dermrelay.jobs.models import JobState

from . import gate
from .models import VERDICT_RANK, AnalysisRun, LesionOutline, LesionSource, ModelVersion, MosaicQuality, Overlay, VerdictBasis
from .plans import PLANS, steps_for_image
from .services import QUALITY_STEP, active_version, lesion_outline_effective, quality_thresholds


def case_verdict_expression() -> db.Subquery:
    """For annotating a queryset of cases: the worst verdict among the case's current mosaics (null
    when none is judged): the case list shows it with one query for the page."""
    rank = db.Case(*(db.When(verdict=verdict, then=db.Value(value)) for verdict, value in VERDICT_RANK.items()),
                   default=db.Value(-1), output_field=db.IntegerField())
    worst = (MosaicQuality.objects.filter(image__case=db.OuterRef("pk"), image__kind=ImageKind.RCM_MOSAIC,
                                          image__replaced_by__isnull=True)
             .annotate(rank=rank).order_by("-rank").values("verdict")[:1])
    return db.Subquery(worst, output_field=db.CharField())


def model_identity(version: ModelVersion) -> dict:
    return {"name": version.name, "version": version.version, "weights_sha256": version.weights_sha256}


def run_summary(run: AnalysisRun) -> dict:
    return {
        "id": str(run.id), "step": run.step, "state": run.state, "attempts": run.attempts,
        "error": run.last_error.strip().splitlines()[-1] if run.state == JobState.FAILED and run.last_error.strip() else None,
        "model": model_identity(run.model_version), "percent_uninformative": run.percent_uninformative,
        "confidence": run.confidence, "timings": run.timings, "requested_by": str(run.requested_by_id) if run.requested_by_id else None,
        "created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at,
    }


def run_list(*, images) -> list[AnalysisRun]:
    return list(AnalysisRun.objects.filter(image__in=images).select_related("model_version").order_by("created_at"))


def overlays_for(*, image: Image, absolute) -> list[dict]:
    """Overlay pyramids drawn over this image, with signed tile URLs like the image's own. A
    projection drawn from a mosaic that was replaced by a new capture is history: left out."""
    found = []
    overlays = (Overlay.objects.filter(image=image)
                .exclude(Q(source_image__replaced_by__isnull=False) & ~Q(source_image_id=image.id)))
    for overlay in overlays.select_related("run__model_version").order_by("kind", "created_at"):
        base, _ = tile_url_base(overlay.prefix)
        base = absolute(base)
        found.append({
            "id": str(overlay.id), "kind": overlay.kind, "label": overlay.get_kind_display(),
            "source_image": str(overlay.source_image_id), "width": overlay.width, "height": overlay.height,
            "level_offset": overlay.level_offset, "format": "png", "legend": overlay.legend,
            "dzi": f"{base}/overlay.dzi", "tiles": f"{base}/overlay_files/{{level}}/{{col}}_{{row}}.png",
            "model": model_identity(overlay.run.model_version),
        })
    return found


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


MOVING_STATUSES = ("submitted", "processing")  # the platform, not a person, moves the case on from these


def case_progress(*, case: Case) -> dict:
    """What a capture page follows while the patient is still there: the case's status and each
    image's and analysis run's state (three small queries), so it re-reads only when one changes."""
    status = Case.objects.filter(pk=case.pk).values_list("status", flat=True).first()
    images = sorted([str(i), s] for i, s in Image.objects.filter(case=case).values_list("id", "status"))
    runs = sorted([str(i), s, a] for i, s, a in AnalysisRun.objects.filter(image__case=case).values_list("id", "state", "attempts"))
    return {"case_status": status, "case_moving": status in MOVING_STATUSES, "images": images, "runs": runs}


def plan_listing() -> list[dict]:
    """Each image kind's steps, with the model version each would run now (or why none)."""
    from .services import RUNNERS

    listing = []
    for kind, steps in PLANS.items():
        for step in steps:
            version = active_version(name=step.model)
            status = ("active" if version is not None and step.step in RUNNERS else
                      "not_installed" if version is None else "no_runner")
            listing.append({"image_kind": kind, "step": step.step, "model": step.model, "purpose": step.purpose,
                            "depth_levels": list(step.depth_levels) if step.depth_levels is not None else None,
                            "status": status, "version": model_identity(version) if version else None})
    return listing


def lesion_outline_of(*, dermoscopy: Image) -> dict | None:
    effective = lesion_outline_effective(dermoscopy=dermoscopy)
    if effective is None:
        return None
    has_model = LesionOutline.objects.filter(dermoscopy=dermoscopy, source=LesionSource.MODEL).exists()
    polygon = effective.polygon
    if not polygon and effective.mask:  # a model outline from before outlines were traced at run time
        with default_storage.open(effective.mask, "rb") as handle:
            mask = np.array(PILImage.open(handle)) > 0
        polygon = gate.outline_from_mask(mask, image_size=(dermoscopy.width, dermoscopy.height))
    return {"image": str(dermoscopy.id), "source": effective.source, "polygon": polygon or [],
            "has_model_outline": has_model, "updated_at": effective.updated_at}


FINDING_STEPS = ("diagnosis", "diagnosis_image_only", "body_region")  # model results a reader sees beside the images


def _latest_runs(*, case: Case, steps) -> dict[tuple, AnalysisRun]:
    """(image id, step) → the newest run on the file of each of the case's current images."""
    found: dict[tuple, AnalysisRun] = {}
    runs = (AnalysisRun.objects.filter(image__case=case, image__status=ImageStatus.READY, image__replaced_by__isnull=True,
                                       step__in=steps)
            .select_related("model_version", "image").order_by("created_at", "finished_at"))
    for run in runs:
        if run.input_sha256 == run.image.sha256:
            found[(run.image_id, run.step)] = run
    return found


def case_findings(*, case: Case) -> dict:
    """The diagnosis with (model B) and without (model A) the location of each dermoscopy image and
    the body-region map of each clinical photo, with model identity: decision support beside the
    images, labelled as such."""
    latest = _latest_runs(case=case, steps=FINDING_STEPS)
    entries = []
    for (image_id, step), run in sorted(latest.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        entry = {"image": str(image_id), "image_kind": run.image.kind, "step": step, "state": run.state,
                 "model": model_identity(run.model_version), "confidence": run.confidence,
                 "finished_at": run.finished_at}
        if run.state == JobState.SUCCEEDED:
            entry["result"] = run.outputs
        elif run.state == JobState.FAILED:
            entry["error"] = run_summary(run)["error"]
        entries.append(entry)
    return {"case": str(case.id), "findings": entries,
            "disclaimer": "Model outputs are decision support for a qualified reader. NOT FOR CLINICAL USE."}


def anatomic_site_suggestion(*, case: Case) -> dict:
    """What the body-region maps of the case's clinical photos suggest for the lesion's anatomic
    site (mean of their overall region probabilities), beside what is recorded."""
    from inference.serving import body_sites

    lesion = case.lesion
    runs = [run for (_, step), run in _latest_runs(case=case, steps=("body_region",)).items()
            if run.state == JobState.SUCCEEDED and run.outputs.get("ranked")]
    answer = {"lesion": {"id": str(lesion.id), "anatom_site_general": lesion.anatom_site_general,
                         "anatom_site": lesion.anatom_site},
              "recorded": bool(lesion.anatom_site or lesion.anatom_site_general),
              "suggestion": None, "region": None, "probability": None,
              "from_images": [{"image": str(r.image_id), "run": str(r.id), "region": r.outputs["region"],
                               "model": model_identity(r.model_version)} for r in runs]}
    if runs:
        totals: dict[str, float] = {}
        for run in runs:
            for entry in run.outputs["ranked"]:
                totals[entry["label"]] = totals.get(entry["label"], 0.0) + entry["probability"] / len(runs)
        region = max(totals, key=totals.get)
        answer.update(region=region, probability=round(totals[region], 4),
                      suggestion=body_sites.anatom_site_suggestion(region))
    return answer
