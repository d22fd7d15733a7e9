"""Reads of analyses for images and cases the caller has already been allowed to see."""

from __future__ import annotations

from django.db.models import Q

from dermrelay.cases.models import Case, Image, ImageStatus
from dermrelay.imaging.tiles import tile_url_base
from dermrelay.jobs.models import JobState

from .models import AnalysisRun, ModelStatus, ModelVersion, Overlay
from .plans import PLANS


def active_version(*, name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name, is_active=True, status=ModelStatus.READY).first()


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
    listing = []
    for kind, steps in PLANS.items():
        for step in steps:
            version = active_version(name=step.model)
            status = "active" if version is not None else "not_installed"
            listing.append({"image_kind": kind, "step": step.step, "model": step.model, "purpose": step.purpose,
                            "depth_levels": list(step.depth_levels) if step.depth_levels is not None else None,
                            "status": status, "version": model_identity(version) if version else None})
    return listing


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
