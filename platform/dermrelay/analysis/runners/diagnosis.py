"""Diagnosis on a dermoscopy image, with the body location (model B) or from the image alone (model
A), as in Amruthalingam et al. 2022."""

from __future__ import annotations


import numpy as np

from dermrelay.cases.models import Image
from dermrelay.jobs.services import JobEffects

from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis.plans import (
    BODY_REGION_MODEL,
)
from dermrelay.analysis.selectors import active_version
from dermrelay.analysis import catalogue
from dermrelay.analysis.runners.common import loaded_model_identity, model_and_rgb, labels_ranked

from dermrelay.analysis.runners.common import MAX_DERMOSCOPY_SIDE


DX_NAMES = {"akiec": "Actinic keratosis / intraepithelial carcinoma", "bcc": "Basal cell carcinoma",
            "bkl": "Benign keratosis-like lesion", "df": "Dermatofibroma", "mel": "Melanoma", "nv": "Melanocytic nevus",
            "vasc": "Vascular lesion"}


def diagnosis_location(image: Image, rgb_small: np.ndarray) -> dict:
    """Where the lesion is, for model B: its recorded anatomic site when that names a HAM10000
    location. Otherwise the body-region model's answer on the same image is recorded and given to B
    as the paper does, unless DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK is "unknown" (see settings)."""
    from django.conf import settings

    from inference.serving import body_sites
    from inference.serving.classification import classify
    from inference.serving.classification import REGION7

    lesion = image.case.lesion
    recorded = body_sites.location_from_anatom_site(anatom_site=lesion.anatom_site,
                                                    anatom_site_general=lesion.anatom_site_general)
    if recorded != body_sites.UNKNOWN:
        return {"location": recorded, "source": "recorded_anatomic_site",
                "anatom_site": lesion.anatom_site, "anatom_site_general": lesion.anatom_site_general}
    version = active_version(name=BODY_REGION_MODEL)
    if version is None:
        return {"location": body_sites.UNKNOWN, "source": "unknown",
                "note": "No anatomic site is recorded and no body-region model is installed."}
    region_model = catalogue.model_load(version=version)
    probabilities = classify(region_model.predict, rgb_small[None])[0]
    region = REGION7[int(probabilities.argmax())]
    answer = {"region": region, "region_probability": round(float(probabilities.max()), 4),
              "region_model": loaded_model_identity(region_model)}
    if settings.DERMRELAY_DIAGNOSIS_LOCATION_FALLBACK == "body_region_model":
        return {"location": body_sites.location_from_region(region), "source": "body_region_model", **answer,
                "note": "No anatomic site is recorded: the diagnosis used the body-region model's answer as the "
                        "location. Confirm or correct the site, which runs the diagnosis again."}
    return {"location": body_sites.UNKNOWN, "source": "unknown", **answer,
            "note": "No anatomic site is recorded: the diagnosis ran without a location. The body-region model's "
                    "answer is shown for a person to confirm as the site, which runs the diagnosis again."}


def diagnosis_work(run: AnalysisRun) -> JobEffects:
    """Model B (or A) on a dermoscopy image: the 7 HAM10000 classes ranked, with the body location B
    was given and where that came from. Decision support for the reader, never a verdict."""
    from inference.serving.classification import classify, location_index, resized

    image = run.image
    watch, model, rgb = model_and_rgb(run, max_side=MAX_DERMOSCOPY_SIDE)
    small = resized(rgb)
    location = (diagnosis_location(image, small) if model.takes_locations
                else {"location": "unknown", "source": "not_used", "note": "This model sees the image alone (model A)."})
    probabilities = classify(model.predict, small[None], np.array([location_index(location["location"])]))[0]
    watch.lap("inference_s")
    labels = list(model.card.labels)
    ranked = labels_ranked(labels, probabilities)
    outputs = {"ranked": [dict(r, name=DX_NAMES.get(r["label"], r["label"])) for r in ranked],
               "top": ranked[0]["label"], "location": location, "backend": model.backend, "device": model.device,
               "note": "Decision support from a model trained on HAM10000 only. NOT FOR CLINICAL USE."}

    def apply() -> None:
        AnalysisRun.objects.filter(pk=run.pk).update(outputs=outputs, confidence=ranked[0]["probability"],
                                                     timings=watch.rounded())

    return JobEffects(apply=apply)
