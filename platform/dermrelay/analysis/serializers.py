"""The shapes of the analysis answers (runs, findings, overlays, the anatomic-site suggestion), as
the OpenAPI schema and the browser app's generated types describe them. The selectors build the
answers; tests/test_response_contract.py checks real answers against these, key for key."""

from __future__ import annotations

from rest_framework import serializers

from dermrelay.cases.models import ImageKind
from dermrelay.jobs.models import JobState

from .models import OverlayKind


class ModelIdentitySerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    weights_sha256 = serializers.CharField()


class LoadedModelIdentitySerializer(ModelIdentitySerializer):
    backend = serializers.CharField(help_text="onnxruntime or torch")


class RunSummarySerializer(serializers.Serializer):
    """One analysis run: which model, where it stands, its headline numbers and its timings."""

    id = serializers.UUIDField()
    step = serializers.CharField(help_text="quality, lesion_segmentation, diagnosis, diagnosis_image_only, body_region")
    state = serializers.ChoiceField(choices=JobState.choices)
    attempts = serializers.IntegerField()
    error = serializers.CharField(allow_null=True, help_text="the last line of the error, once failed")
    model = ModelIdentitySerializer()
    percent_uninformative = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    timings = serializers.DictField(child=serializers.FloatField(), help_text="seconds per stage, and total_s")
    requested_by = serializers.CharField(allow_null=True, help_text="the user who asked for a re-run; null when the platform ran it")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class AnalysisRunRowSerializer(RunSummarySerializer):
    image = serializers.UUIDField()


class CaseAnalysesSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    runs = AnalysisRunRowSerializer(many=True, help_text="oldest first")


class RerunQueuedSerializer(serializers.Serializer):
    runs = serializers.ListField(child=serializers.UUIDField(), help_text="the runs queued")


class LegendEntrySerializer(serializers.Serializer):
    colour = serializers.CharField(help_text="#rrggbb")
    label = serializers.CharField()
    alpha = serializers.FloatField(required=False, help_text="drawn this opaque (1 when absent)")


class OverlaySerializer(serializers.Serializer):
    """An overlay pyramid drawn over an image, with signed tile URLs like the image's own."""

    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=OverlayKind.choices)
    label = serializers.CharField()
    source_image = serializers.UUIDField(help_text="the image it was drawn from (a mosaic, for a projection)")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    level_offset = serializers.IntegerField(help_text="its level L is the image's level L + level_offset")
    format = serializers.CharField()
    legend = LegendEntrySerializer(many=True)
    dzi = serializers.URLField()
    tiles = serializers.CharField(help_text="URL template with {level}, {col} and {row}")
    model = ModelIdentitySerializer()


class RankedLabelSerializer(serializers.Serializer):
    label = serializers.CharField()
    probability = serializers.FloatField()
    name = serializers.CharField(required=False, help_text="the diagnosis in words (diagnosis runs)")


class SuggestedSiteSerializer(serializers.Serializer):
    anatom_site_general = serializers.CharField()
    anatom_site = serializers.CharField()


class DiagnosisLocationSerializer(serializers.Serializer):
    """The body location the diagnosis was given, and where it came from."""

    location = serializers.CharField()
    source = serializers.CharField(help_text="recorded_anatomic_site, body_region_model, unknown or not_used (model A)")
    anatom_site = serializers.CharField(required=False, allow_blank=True)
    anatom_site_general = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, help_text="the body-region model's answer, when none was recorded")
    region_probability = serializers.FloatField(required=False)
    region_model = LoadedModelIdentitySerializer(required=False, help_text="the body-region model that answered")
    note = serializers.CharField(required=False)


class BodyRegionMapSerializer(serializers.Serializer):
    image_size = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    patch = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    xs = serializers.ListField(child=serializers.IntegerField())
    ys = serializers.ListField(child=serializers.IntegerField())
    regions = serializers.ListField(child=serializers.ListField(child=serializers.CharField(allow_null=True)))
    probabilities = serializers.ListField(child=serializers.ListField(child=serializers.ListField(
        child=serializers.FloatField())), help_text="per patch row and column, each region's probability")


class FindingResultSerializer(serializers.Serializer):
    """A diagnosis run's outputs (ranked, top, location) or a body-region run's (region, ranked,
    suggested_site, map)."""

    ranked = RankedLabelSerializer(many=True)
    top = serializers.CharField(required=False)
    location = DiagnosisLocationSerializer(required=False)
    region = serializers.CharField(required=False)
    suggested_site = SuggestedSiteSerializer(required=False, allow_null=True)
    map = BodyRegionMapSerializer(required=False)
    backend = serializers.CharField()
    device = serializers.CharField()
    note = serializers.CharField()


class FindingSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    image_kind = serializers.ChoiceField(choices=ImageKind.choices)
    step = serializers.CharField(help_text="diagnosis, diagnosis_image_only or body_region")
    state = serializers.ChoiceField(choices=JobState.choices)
    model = ModelIdentitySerializer()
    confidence = serializers.FloatField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = FindingResultSerializer(required=False, help_text="once succeeded")
    error = serializers.CharField(required=False, allow_null=True, help_text="once failed")


class CaseFindingsSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    findings = FindingSerializer(many=True)
    disclaimer = serializers.CharField()


class SuggestionLesionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    anatom_site_general = serializers.CharField(allow_blank=True)
    anatom_site = serializers.CharField(allow_blank=True)


class SuggestionSourceSerializer(serializers.Serializer):
    image = serializers.UUIDField()
    run = serializers.UUIDField()
    region = serializers.CharField()
    model = ModelIdentitySerializer()


class AnatomicSiteSuggestionSerializer(serializers.Serializer):
    lesion = SuggestionLesionSerializer(help_text="what is recorded")
    recorded = serializers.BooleanField()
    suggestion = SuggestedSiteSerializer(allow_null=True, help_text="null without a body-region map, or for 'other'")
    region = serializers.CharField(allow_null=True)
    probability = serializers.FloatField(allow_null=True, help_text="the mean over the clinical photos")
    from_images = SuggestionSourceSerializer(many=True)


class AnalysisPlanStepSerializer(serializers.Serializer):
    image_kind = serializers.ChoiceField(choices=ImageKind.choices)
    step = serializers.CharField()
    model = serializers.CharField(help_text="the model's name in the catalogue")
    purpose = serializers.CharField()
    depth_levels = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                         help_text="the mosaic depths it runs at; null for every image of the kind")
    status = serializers.ChoiceField(choices=(("active", "Installed"), ("not_installed", "Not installed")))
    version = ModelIdentitySerializer(allow_null=True, help_text="the version that would run now")
