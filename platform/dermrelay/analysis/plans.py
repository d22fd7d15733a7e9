"""Analysis plans: which models run on which kind of image, each as a named step.

A step runs with the active, verified version of its model. A step whose model is not installed
(no card, or its weights failed verification) is reported as such and skipped, never faked: the
reader sees diagnosis with and without the location (models B and A) beside each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from dermrelay.cases.models import DepthLevel, ImageKind

QUALITY_STEP = "quality"
LESION_STEP = "lesion_segmentation"
DIAGNOSIS_STEP = "diagnosis"
DIAGNOSIS_IMAGE_ONLY_STEP = "diagnosis_image_only"
BODY_REGION_STEP = "body_region"
BODY_REGION_MODEL = "body-region"


@dataclass(frozen=True)
class PlanStep:
    step: str  # the runner in analysis.runners.RUNNERS
    model: str  # the model name in the registry
    purpose: str
    depth_levels: tuple[str, ...] | None = None  # RCM: the depths the model is meant for ("" = not given)

    def applies_to(self, image) -> bool:
        return self.depth_levels is None or image.depth_level in self.depth_levels


PLANS: dict[str, tuple[PlanStep, ...]] = {
    ImageKind.RCM_MOSAIC: (
        # MED-Net judges mosaics at the dermal-epidermal junction (Kose et al. 2020); a mosaic whose
        # depth was not given is judged too, since it is most often the DEJ mosaic.
        PlanStep("quality", "rcm-quality-mednet", "uninformative areas and the quality gate",
                 depth_levels=(DepthLevel.DEJ, "")),
    ),
    ImageKind.RCM_STACK: (),
    ImageKind.DERMOSCOPY: (
        PlanStep("lesion_segmentation", "dermoscopy-lesion-segmentation", "the lesion outline for the quality gate"),
        PlanStep("diagnosis", "dermoscopy-diagnosis-location", "diagnosis with the body location (model B)"),
        PlanStep("diagnosis_image_only", "dermoscopy-diagnosis", "diagnosis from the image alone (model A), beside B"),
    ),
    ImageKind.CLINICAL: (
        PlanStep("body_region", "body-region", "body-region map, suggested as the lesion's anatomic site"),
    ),
}


def plan_for(kind: str) -> tuple[PlanStep, ...]:
    return PLANS.get(kind, ())


def steps_for_image(image) -> list[PlanStep]:
    return [step for step in plan_for(image.kind) if step.applies_to(image)]


def steps_for_model(name: str) -> list[tuple[str, PlanStep]]:
    """(image kind, step) pairs that run the model of this name."""
    return [(kind, step) for kind, steps in PLANS.items() for step in steps if step.model == name]
