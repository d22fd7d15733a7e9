"""MED-Net on an RCM mosaic (Kose et al. 2020): the label map, the probability map and the
quality overlay."""

from __future__ import annotations


import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging.overlays import colourise, overlay_delete, overlay_write
from dermrelay.imaging.services import image_local_path
from dermrelay.storage import output_intend, prefix_delete
from dermrelay.jobs.services import JobEffects, PermanentJobError
from inference.serving import quality as quality_analysis
from inference.serving.preprocessing import read_at_spacing

from dermrelay.analysis.models import AnalysisRun, OverlayKind
from dermrelay.analysis import catalogue
from dermrelay.analysis.overlay_records import overlay_store
from dermrelay.analysis.runners.common import Stopwatch, png_bytes

from dermrelay.analysis import masks


QUALITY_PALETTE = {masks.UNINFORMATIVE: (255, 64, 0, 255)}

QUALITY_LEGEND = [{"colour": "#ff4000", "label": "Uninformative (model)"}]


def quality_work(run: AnalysisRun) -> JobEffects:
    """MED-Net on the viewable mosaic (caption cropped as in the viewer) at the model's working
    spacing; stores the label map, the probability map and the quality overlay pyramid."""
    image = run.image
    if image.pixel_spacing_um is None:
        raise PermanentJobError("The mosaic's pixel spacing is unknown: set pixel_spacing_um on the image and the analysis runs again.")
    pyramid = imaging_selectors.pyramid_of(image=image)
    if pyramid is None:
        raise RuntimeError("the image has no pyramid yet")  # retried: derivation may still be committing
    watch = Stopwatch()
    model = catalogue.model_load(version=run.model_version)
    watch.lap("model_load_s")
    with image_local_path(image=image) as path:
        working = read_at_spacing(str(path), source_spacing_um=image.pixel_spacing_um,
                                  working_spacing_um=model.card.input["pixel_spacing_um"], crop=pyramid.crop)
    watch.lap("read_s")
    result = quality_analysis.analyse_pixels(model, working.pixels, scale=working.scale,
                                             source_spacing_um=image.pixel_spacing_um)
    watch.lap("inference_s")
    labels = masks.labels_from(mask=result.mask, valid=result.valid)
    prefix = f"analysis/{image.case.site_id}/{image.id}/run-{run.id}-{run.attempts}"
    output_intend(prefix)
    default_storage.save(f"{prefix}/labels.png", ContentFile(png_bytes(labels)))
    default_storage.save(f"{prefix}/probability.png",
                         ContentFile(png_bytes(np.clip(result.probability * 255 + 0.5, 0, 255).astype(np.uint8))))
    overlay = overlay_write(rgba=colourise(labels, QUALITY_PALETTE), image_width=pyramid.width,
                            image_height=pyramid.height, site_id=image.case.site_id, image_id=image.id, kind="quality")
    watch.lap("outputs_s")
    timings = watch.rounded()
    outputs = {
        "working_spacing_um": result.working_spacing_um, "scale": working.scale,
        "working_size": [int(labels.shape[1]), int(labels.shape[0])], "mosaic_size": [pyramid.width, pyramid.height],
        "regions": result.regions[:200], "region_count": len(result.regions),
        "backend": model.backend, "device": model.device,
        "files": {"labels": f"{prefix}/labels.png", "probability": f"{prefix}/probability.png"},
        "labels_legend": {"0": "not imaged", "1": "informative", "2": "uninformative"},
    }

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(
            percent_uninformative=result.percent_uninformative, confidence=result.confidence, outputs=outputs,
            output_prefix=prefix, timings=timings)
        overlay_store(image=image, source_image=image, kind=OverlayKind.QUALITY, run=run, pyramid=overlay,
                       legend=QUALITY_LEGEND, inputs_key=run.model_version.weights_sha256)

    def discard() -> None:
        prefix_delete(prefix)
        overlay_delete(overlay.prefix)

    return JobEffects(apply=apply, discard=discard)
