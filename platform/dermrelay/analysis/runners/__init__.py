"""One runner per analysis step: the work of its job, as files written now and database effects
applied when the job succeeds (jobs.services.JobEffects)."""

from __future__ import annotations

from collections.abc import Callable

from dermrelay.analysis.models import AnalysisRun
from dermrelay.analysis.plans import BODY_REGION_STEP, DIAGNOSIS_IMAGE_ONLY_STEP, DIAGNOSIS_STEP, LESION_STEP, QUALITY_STEP
from dermrelay.jobs.services import JobEffects

from .body_region import body_region_work
from .diagnosis import diagnosis_work
from .lesion import lesion_segmentation_work
from .quality import quality_work

RUNNERS: dict[str, Callable[[AnalysisRun], JobEffects]] = {
    QUALITY_STEP: quality_work, LESION_STEP: lesion_segmentation_work, DIAGNOSIS_STEP: diagnosis_work,
    DIAGNOSIS_IMAGE_ONLY_STEP: diagnosis_work, BODY_REGION_STEP: body_region_work,
}
