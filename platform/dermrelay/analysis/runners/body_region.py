"""The body-region patch map of a clinical photo, its overall region, the anatomic site it suggests."""

from __future__ import annotations


import numpy as np

from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging.overlays import colourise, overlay_delete, overlay_write
from dermrelay.jobs.services import JobEffects
from inference.serving.registry import LoadedModel

from dermrelay.analysis.models import AnalysisRun, OverlayKind
from dermrelay.analysis.overlay_records import overlay_store
from dermrelay.analysis.runners.common import model_and_rgb, labels_ranked



MAX_CLINICAL_SIDE = 1600  # clinical photos are mapped at most this large

# region7 order (inference.ham10000.REGION7); the label image stores region index + 1, 0 = no patch
BODY_REGION_COLOURS = {"arm": "#1f77b4", "leg": "#2ca02c", "feet": "#8c564b", "hand": "#9467bd", "head": "#ff7f0e",
                       "trunk": "#17becf", "other": "#7f7f7f"}


def body_region_map(model: LoadedModel, rgb: np.ndarray):
    """The body-region patch map of a photo: 4:3 patches half the photo's height (at least the
    model's 200x150 input) overlapping by half; a small photo is one patch."""
    from inference.serving.classification import IMAGE_SIZE, classify, resized
    from inference.serving.patch_map import grid_for, patch_map

    height = max(IMAGE_SIZE[1], rgb.shape[0] // 2)
    grid = grid_for(width=rgb.shape[1], height=rgb.shape[0], patch=(round(height * 4 / 3), height), overlap=0.5)
    return patch_map(rgb, grid=grid, score=lambda patches: classify(model.predict, np.stack([resized(p) for p in patches])),
                     batch=8)


def body_region_work(run: AnalysisRun) -> JobEffects:
    """The body-region map of a clinical photo, its overall region, and the anatomic site it
    suggests for the lesion (a person confirms it; see anatomic_site_confirm)."""
    from inference.serving import body_sites

    watch, model, rgb = model_and_rgb(run, max_side=MAX_CLINICAL_SIDE)
    found = body_region_map(model, rgb)
    watch.lap("inference_s")
    labels = list(model.card.labels)
    overall = found.overall
    ranked = labels_ranked(labels, overall)
    patch_labels = found.labels()
    outputs = {
        "region": ranked[0]["label"], "ranked": ranked,
        "suggested_site": body_sites.anatom_site_suggestion(ranked[0]["label"]),
        "map": {"image_size": [int(rgb.shape[1]), int(rgb.shape[0])], "patch": list(found.grid.patch),
                "xs": list(found.grid.xs), "ys": list(found.grid.ys),
                "regions": [[labels[k] if k >= 0 else None for k in row] for row in patch_labels.tolist()],
                "probabilities": np.round(found.scores, 3).tolist()},
        "backend": model.backend, "device": model.device,
        "note": "Trained on HAM10000 dermoscopy images; on clinical photos a suggestion for a person to confirm.",
    }

    image = run.image
    pyramid = imaging_selectors.pyramid_of(image=image)
    overlay = None
    colours = [BODY_REGION_COLOURS.get(label, "#7f7f7f") for label in labels]
    if pyramid is not None:  # the map drawn over the photo in the viewer
        palette = {k + 1: (*(int(c[i:i + 2], 16) for i in (1, 3, 5)), 255) for k, c in enumerate(colours)}
        overlay = overlay_write(rgba=colourise((found.label_image() + 1).astype(np.uint8), palette),
                                image_width=pyramid.width, image_height=pyramid.height, site_id=image.case.site_id,
                                image_id=image.id, kind=OverlayKind.BODY_REGION)
    legend = [{"colour": colour, "label": label} for label, colour in zip(labels, colours, strict=True)]

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, confidence=ranked[0]["probability"],
                                                     timings=watch.rounded())
        if overlay is not None:
            overlay_store(image=image, source_image=image, kind=OverlayKind.BODY_REGION, run=run, pyramid=overlay,
                           legend=legend, inputs_key=run.model_version.weights_sha256)

    return JobEffects(apply=apply, discard=lambda: overlay_delete(overlay.prefix) if overlay else None)
