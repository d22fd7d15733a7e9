"""The lesion on a dermoscopy image: its mask as a file and its border traced as a polygon (in the
run's outputs). The gate records it as the model's outline when the run finishes."""

from __future__ import annotations


import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from dermrelay.storage import output_intend, prefix_delete
from dermrelay.jobs.services import JobEffects

from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis.runners.common import model_and_rgb, png_bytes

from dermrelay.analysis.masks import outline_from_mask
from dermrelay.analysis.runners.common import MAX_DERMOSCOPY_SIDE


def lesion_segmentation_work(run: AnalysisRun) -> JobEffects:
    """The lesion on a dermoscopy image, as a mask file and its traced border (`outputs["outline"]`,
    what a person sees and edits; the mask is what the gate judges)."""
    from inference.serving.lesion_segmentation import segment

    image = run.image
    watch, model, rgb = model_and_rgb(run, max_side=MAX_DERMOSCOPY_SIDE)
    mask, probability = segment(model.predict, rgb)
    watch.lap("inference_s")
    prefix = f"analysis/{image.case.site_id}/{image.id}/run-{run.id}-{run.attempts}"
    output_intend(prefix)
    mask_key = default_storage.save(f"{prefix}/lesion.png", ContentFile(png_bytes(mask.astype(np.uint8) * 255)))
    outline = outline_from_mask(mask, image_size=(image.width, image.height))  # drawn and edited; the mask is judged
    watch.lap("outputs_s")
    timings = watch.rounded()
    area = float(mask.mean() * 100)
    lesion_probability = float(probability[mask].mean()) if mask.any() else 0.0
    outputs = {"lesion_percent_of_image": round(area, 3), "mask_size": [int(mask.shape[1]), int(mask.shape[0])],
               "files": {"lesion": mask_key}, "backend": model.backend, "device": model.device,
               "found_lesion": bool(mask.any()), "outline": outline}

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, output_prefix=prefix, confidence=lesion_probability,
                                                     timings=timings)

    return JobEffects(apply=apply, discard=lambda: prefix_delete(prefix))
