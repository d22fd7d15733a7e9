"""The shapes of the gate's answers (a case's quality, a lesion outline, an expert annotation, a
site's thresholds) as the OpenAPI schema and the browser app's generated types describe them. The
selectors build the answers; tests/test_response_contract.py checks real answers against these,
key for key."""

from __future__ import annotations

from rest_framework import serializers

from dermrelay.analysis.serializers import ModelIdentitySerializer, OverlaySerializer, RunSummarySerializer
from dermrelay.cases.models import DepthLevel

from .models import LesionSource, Verdict, VerdictBasis

CASE_QUALITY_STATES = (("no_mosaics", "No mosaic to judge"), ("pending", "Pending"), ("complete", "Complete"))
MOSAIC_QUALITY_STATES = (
    ("preparing", "Being prepared for viewing"), ("analysing", "The quality model is running"),
    ("judging", "Being judged"), ("done", "Judged"), ("failed", "Failed"),
    ("not_analysed", "No quality run (no model installed)"), ("not_applicable", "Not at the junction"),
)
PROBLEM_WITHIN = (("lesion", "Within the lesion"), ("mosaic", "Over the imaged mosaic"))


class ThresholdsSerializer(serializers.Serializer):
    review_at_percent = serializers.FloatField()
    reimage_at_percent = serializers.FloatField()


class QualityPolicySerializer(ThresholdsSerializer):
    """A site's thresholds, in percent uninformative."""

    review_at_percent = serializers.FloatField(min_value=0.1, max_value=100)
    reimage_at_percent = serializers.FloatField(min_value=0.1, max_value=100)
    is_default = serializers.BooleanField(read_only=True, help_text="true until a site administrator sets them")


class ExpertAgreementSerializer(serializers.Serializer):
    """The model's uninformative areas against an expert's, pixel by pixel."""

    sensitivity = serializers.FloatField(allow_null=True)
    specificity = serializers.FloatField(allow_null=True)
    dice = serializers.FloatField(allow_null=True)
    expert_percent_whole = serializers.FloatField(required=False, allow_null=True, help_text=(
        "% uninformative of the whole mosaic by the expert's drawing (absent from judgements made before it was kept)"))
    percent_signed_error = serializers.FloatField(required=False, allow_null=True, help_text=(
        "model % - expert %, over the whole mosaic: > 0 when the model over-calls"))
    expert = serializers.CharField(help_text="the annotating user's id")
    expert_name = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    annotated_at = serializers.DateTimeField()


class ProblemRegionSerializer(serializers.Serializer):
    """Where the uninformative area that decided a review or re-image verdict lies. Boxes are
    [x0, y0, x1, y1] in pixel edges; centroids have pixel centres at integers."""

    description = serializers.CharField(help_text="in words, e.g. 'the upper left of the lesion'")
    dermoscopy_image = serializers.UUIDField(allow_null=True, help_text="the image `bbox` and `centroid` are on")
    bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True,
                                 help_text="on the dermoscopy image; null without a registration")
    mosaic_bbox = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, allow_null=True)
    share_percent = serializers.FloatField(allow_null=True)
    within = serializers.ChoiceField(choices=PROBLEM_WITHIN, allow_null=True)
    centroid = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True)
    mosaic_centroid = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True)


class PercentIntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class MosaicQualitySerializer(serializers.Serializer):
    """One mosaic's part of the answer: where its analysis stands and, once judged, its verdict."""

    image = serializers.UUIDField()
    depth_level = serializers.ChoiceField(choices=DepthLevel.choices, allow_blank=True)
    depth_um = serializers.FloatField(allow_null=True)
    state = serializers.ChoiceField(choices=MOSAIC_QUALITY_STATES)
    error = serializers.CharField(allow_null=True)
    run = RunSummarySerializer(allow_null=True, help_text="the latest quality run")
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    note = serializers.CharField(allow_null=True)
    # Once judged:
    basis = serializers.ChoiceField(choices=VerdictBasis.choices, required=False)
    basis_note = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    percent_whole = serializers.FloatField(required=False, help_text="% uninformative over the whole mosaic")
    percent_lesion = serializers.FloatField(required=False, allow_null=True, help_text="% uninformative within the lesion")
    lesion_source = serializers.ChoiceField(choices=LesionSource.choices, required=False, allow_null=True)
    lesion_imaged_percent = serializers.FloatField(required=False, allow_null=True)
    interval_whole = PercentIntervalSerializer(required=False, allow_null=True, help_text=(
        "where the true % over the whole mosaic lies, at `interval_coverage`; null when the model has no fitted interval"))
    interval_lesion = PercentIntervalSerializer(required=False, allow_null=True)
    interval_coverage = serializers.FloatField(required=False, allow_null=True)
    thresholds = ThresholdsSerializer(required=False, help_text="those the verdict was judged against")
    agreement = ExpertAgreementSerializer(required=False, allow_null=True)
    model = ModelIdentitySerializer(required=False)
    problem_region = ProblemRegionSerializer(required=False, allow_null=True)
    assessed_at = serializers.DateTimeField(required=False)
    judged_run = serializers.UUIDField(required=False)


class LesionOutlineRefSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    source = serializers.ChoiceField(choices=LesionSource.choices)


class CaseQualitySerializer(serializers.Serializer):
    """The capture-time answer: per mosaic and, once every mosaic is judged, for the case (the
    worst verdict; a partial one while pending)."""

    case = serializers.UUIDField()
    state = serializers.ChoiceField(choices=CASE_QUALITY_STATES)
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    verdict_is_final = serializers.BooleanField()
    basis = serializers.ChoiceField(choices=VerdictBasis.choices, allow_null=True)
    basis_note = serializers.CharField(allow_null=True)
    thresholds = ThresholdsSerializer(help_text="the site's now")
    lesion_outline = LesionOutlineRefSerializer(allow_null=True)
    mosaics = MosaicQualitySerializer(many=True, help_text="shallowest first")
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class LesionOutlineSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    source = serializers.ChoiceField(choices=LesionSource.choices, help_text="a person's outline wins over the model's")
    polygon = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
                                    help_text="[[x, y], ...] in dermoscopy pixels; empty only if a mask could not be traced")
    has_model_outline = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class PolygonSerializer(serializers.Serializer):
    polygon = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
                                    min_length=3, max_length=10000, help_text="[[x, y], ...] in dermoscopy pixels")


class ExpertPolygonsSerializer(serializers.Serializer):
    polygons = serializers.ListField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)),
        max_length=1000, help_text="[[[x, y], ...], ...] uninformative areas in mosaic pixels")


class ExpertAnnotationSerializer(ExpertPolygonsSerializer):
    image = serializers.UUIDField()
    author = serializers.IntegerField(help_text="the annotating user's id")
    updated_at = serializers.DateTimeField()


class ExpertAnnotationSavedSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    agreement = ExpertAgreementSerializer(allow_null=True, help_text="null until the mosaic's quality run is judged")
    overlay = OverlaySerializer(allow_null=True, help_text="the agreement overlay, as in the viewer")
