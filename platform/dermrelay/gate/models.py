"""What the quality gate records: the lesion outline on a dermoscopy image (a person's or a
model's), an expert's uninformative areas on a mosaic, each site's thresholds, and the judgement of
each mosaic. The tables were the analysis app's; they moved here with their names (db_table)."""

from __future__ import annotations

import uuid

from django.db import models

from dermrelay.accounts.models import Site
from dermrelay.analysis.models import AnalysisRun
from dermrelay.cases.models import Image


class LesionSource(models.TextChoices):
    PERSON = "person", "Outlined by a person"
    MODEL = "model", "Segmented by a model"


class LesionOutline(models.Model):
    """The lesion on a dermoscopy image: a polygon a person drew, or a mask a model made. One of
    each source per image; a person's outline wins over the model's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dermoscopy = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="lesion_outlines")
    source = models.CharField(max_length=8, choices=LesionSource.choices)
    polygon = models.JSONField(null=True, blank=True, help_text="[[x, y], ...] in dermoscopy pixels")
    mask = models.CharField(max_length=255, blank=True, help_text="storage key of a 0/255 PNG at the image's size")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analysis_lesionoutline"  # made by the analysis app; moved here without a copy
        constraints = [models.UniqueConstraint(fields=["dermoscopy", "source"], name="one_lesion_outline_per_source")]


class ExpertAnnotation(models.Model):
    """Areas of a mosaic an expert judged uninformative: polygons in mosaic pixels (of the viewable
    mosaic). Compared with the model's mask, it gives the agreement overlay and figures."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="expert_annotations")
    polygons = models.JSONField(help_text="[[[x, y], ...], ...] in mosaic pixels")
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analysis_expertannotation"  # made by the analysis app; moved here without a copy
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["image", "created_by"], name="one_expert_annotation_per_author")]

DEFAULT_REVIEW_AT_PERCENT = 10.0

DEFAULT_REIMAGE_AT_PERCENT = 20.0


class QualityPolicy(models.Model):
    """A site's thresholds on % uninformative (of the lesion, else of the whole mosaic)."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="quality_policy")
    review_at_percent = models.FloatField(default=DEFAULT_REVIEW_AT_PERCENT)
    reimage_at_percent = models.FloatField(default=DEFAULT_REIMAGE_AT_PERCENT)
    updated_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analysis_qualitypolicy"  # made by the analysis app; moved here without a copy
        verbose_name_plural = "quality policies"
        constraints = [models.CheckConstraint(
            condition=models.Q(review_at_percent__gt=0, review_at_percent__lte=models.F("reimage_at_percent"),
                               reimage_at_percent__lte=100),
            name="quality_policy_thresholds_ordered")]


class Verdict(models.TextChoices):
    ACCEPTABLE = "acceptable", "Acceptable"
    REVIEW = "review", "Review"
    REIMAGE = "reimage", "Re-image recommended"

VERDICT_RANK = {Verdict.ACCEPTABLE: 0, Verdict.REVIEW: 1, Verdict.REIMAGE: 2}


class VerdictBasis(models.TextChoices):
    LESION = "lesion", "Uninformative share of the lesion"
    WHOLE_MOSAIC = "whole_mosaic", "Uninformative share of the whole mosaic"


class MosaicQuality(models.Model):
    """The quality gate's judgement of one mosaic, from its latest quality run, its case's lesion
    outline and registration, and its site's thresholds (recorded as used)."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="quality")
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="+")
    percent_whole = models.FloatField()
    percent_lesion = models.FloatField(null=True, blank=True)
    lesion_source = models.CharField(max_length=8, choices=LesionSource.choices, blank=True)
    lesion_imaged_percent = models.FloatField(null=True, blank=True, help_text="share of the lesion's footprint on this mosaic that was imaged")
    # The interval of each % at the model card's coverage (inference.serving.calibration); null when
    # the card has no fitted interval.
    percent_whole_low = models.FloatField(null=True, blank=True)
    percent_whole_high = models.FloatField(null=True, blank=True)
    percent_lesion_low = models.FloatField(null=True, blank=True)
    percent_lesion_high = models.FloatField(null=True, blank=True)
    interval_coverage = models.FloatField(null=True, blank=True, help_text="e.g. 0.95: how often the interval holds the true %")
    basis = models.CharField(max_length=14, choices=VerdictBasis.choices)
    basis_note = models.CharField(max_length=300, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    review_at_percent = models.FloatField()
    reimage_at_percent = models.FloatField()
    agreement = models.JSONField(null=True, blank=True, help_text="model vs expert: sensitivity, specificity, dice")
    problem_region = models.JSONField(null=True, blank=True, help_text=(
        "Where the uninformative pixels that decided a review or reimage verdict lie: description, bbox on "
        "the dermoscopy image and on the mosaic (gate.problem_region); null when acceptable."))
    assessed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "analysis_mosaicquality"  # made by the analysis app; moved here without a copy
