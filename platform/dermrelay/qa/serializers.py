"""The QA API's response shapes. Every response goes through these serializers, so the OpenAPI
schema (and the browser app's typed client generated from it) cannot drift from what is sent."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dermrelay.gate.models import Verdict, VerdictBasis
from dermrelay.cases.models import DepthLevel

GROUP_KINDS = (("site", "Site"), ("technician", "Technician"))
MEASURE_CHOICES = (("whole", "Whole mosaic"), ("lesion", "Within the lesion"))
OUTLIER_STATUSES = (("tested", "Tested"), ("insufficient_data", "Insufficient data"))
MAGNITUDES = (("negligible", "Negligible"), ("small", "Small"), ("medium", "Medium"), ("large", "Large"))
DIRECTIONS = (("worse", "Worse"), ("better", "Better"), ("none", "No difference"))


@extend_schema_field({"oneOf": [{"type": "string", "enum": [value for value, _ in GROUP_KINDS]}]})
class GroupKindField(serializers.ChoiceField):
    """site | technician, kept inline (inside oneOf): as a shared enum component it would collide
    with the schema's other `kind` enums (image, notification) under one generated name."""

    def __init__(self, **kwargs):
        super().__init__(choices=GROUP_KINDS, **kwargs)


class QaPeriodSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()


class QaBinSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The value of the `bin` query parameter, e.g. '5-10'.")
    label = serializers.CharField(help_text="e.g. '5–10'")
    lower = serializers.FloatField(help_text="included")
    upper = serializers.FloatField(help_text="excluded, except 100 in the last bin")


class QaBinCountSerializer(QaBinSerializer):
    count = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="count / n × 100; null when n = 0")


class QaDescribeSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    sd = serializers.FloatField(allow_null=True, help_text="sample standard deviation (ddof=1); null when n < 2")
    bins = QaBinCountSerializer(many=True)


class QaSiteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    code = serializers.CharField()


class QaScopeSerializer(serializers.Serializer):
    sites = QaSiteSerializer(many=True)
    roles = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                  help_text="site id → your roles there")
    default_period = QaPeriodSerializer()
    bins = QaBinSerializer(many=True)
    recall_thresholds = serializers.ListField(child=serializers.FloatField())


class QaThresholdsSerializer(serializers.Serializer):
    review_at_percent = serializers.FloatField()
    reimage_at_percent = serializers.FloatField()


class QaEvidenceSerializer(serializers.Serializer):
    measure = serializers.ChoiceField(choices=MEASURE_CHOICES)
    status = serializers.ChoiceField(choices=OUTLIER_STATUSES)
    n = serializers.IntegerField(help_text="the group's mosaics with a value of this measure")
    pool_n = serializers.IntegerField(help_text="the other groups' mosaics with a value of this measure")
    group_median = serializers.FloatField(allow_null=True)
    pool_median = serializers.FloatField(allow_null=True)
    u = serializers.FloatField(allow_null=True, help_text="Mann–Whitney U of the group")
    z = serializers.FloatField(allow_null=True, help_text="positive when the group is more uninformative")
    p = serializers.FloatField(allow_null=True, help_text="two-sided, normal approximation, tie and continuity corrected")
    p_adjusted = serializers.FloatField(allow_null=True, help_text="Holm-adjusted within the family and measure")
    effect_size = serializers.FloatField(allow_null=True, help_text="rank-biserial r (Cliff's delta); positive = worse")
    magnitude = serializers.ChoiceField(choices=MAGNITUDES, allow_null=True)
    direction = serializers.ChoiceField(choices=DIRECTIONS, allow_null=True)
    flagged = serializers.BooleanField()
    reason = serializers.CharField()


class QaOutlierSerializer(serializers.Serializer):
    whole = QaEvidenceSerializer()
    lesion = QaEvidenceSerializer()
    flagged = serializers.BooleanField(help_text="flagged on either measure")


class QaVerdictCountsSerializer(serializers.Serializer):
    acceptable = serializers.IntegerField()
    review = serializers.IntegerField()
    reimage = serializers.IntegerField()


class QaGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="site id, technician id, or 'unassigned'")
    label = serializers.CharField()
    kind = GroupKindField()
    site_id = serializers.UUIDField(allow_null=True, help_text="null for a technician imaging at several sites")
    site_name = serializers.CharField(allow_null=True)
    site_ids = serializers.ListField(child=serializers.UUIDField())
    n_mosaics = serializers.IntegerField()
    whole = QaDescribeSerializer(help_text="% uninformative over the whole mosaic")
    lesion = QaDescribeSerializer(help_text="% uninformative within the lesion (n: mosaics that have one)")
    verdicts = QaVerdictCountsSerializer()
    outlier = QaOutlierSerializer()


class QaPoolSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    whole = QaDescribeSerializer()
    lesion = QaDescribeSerializer()


class QaFlaggedSerializer(serializers.Serializer):
    kind = GroupKindField()
    key = serializers.CharField()
    label = serializers.CharField()
    measure = serializers.ChoiceField(choices=MEASURE_CHOICES)
    reason = serializers.CharField()


class QaSummarySerializer(serializers.Serializer):
    period = QaPeriodSerializer()
    bins = QaBinSerializer(many=True)
    thresholds_used = serializers.DictField(child=QaThresholdsSerializer(), help_text="site id → current thresholds")
    pool = QaPoolSerializer()
    sites = QaGroupSerializer(many=True)
    technicians = QaGroupSerializer(many=True)
    flagged = QaFlaggedSerializer(many=True, help_text="every flagged group and measure, with its reason")
    outlier_rule = serializers.CharField()


class QaTrendPointSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    n = serializers.IntegerField()
    mean_whole = serializers.FloatField(allow_null=True)
    median_whole = serializers.FloatField(allow_null=True)
    mean_lesion = serializers.FloatField(allow_null=True)
    n_lesion = serializers.IntegerField()


class QaTrendSeriesSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = GroupKindField()
    points = QaTrendPointSerializer(many=True)


class QaTrendPoolSerializer(serializers.Serializer):
    points = QaTrendPointSerializer(many=True)


class QaTrendSerializer(serializers.Serializer):
    period = QaPeriodSerializer()
    weeks = serializers.ListField(child=serializers.DateField(), help_text="the Monday of every week of the period")
    series = QaTrendSeriesSerializer(many=True)
    pool = QaTrendPoolSerializer()


class QaRecallRowSerializer(serializers.Serializer):
    threshold = serializers.FloatField()
    n = serializers.IntegerField(help_text="mosaics with a lesional %")
    whole_recalls = serializers.IntegerField()
    lesion_recalls = serializers.IntegerField()
    saved = serializers.IntegerField(help_text="whole − lesion recalls; negative when the lesional rule recalls more")
    saved_percent = serializers.FloatField(allow_null=True, help_text="saved / whole recalls × 100; null when none")


class QaRecallSiteSerializer(serializers.Serializer):
    site_id = serializers.UUIDField()
    site_name = serializers.CharField()
    rows = QaRecallRowSerializer(many=True)
    n_without_lesion = serializers.IntegerField()


class QaRecallSerializer(serializers.Serializer):
    period = QaPeriodSerializer()
    thresholds = serializers.ListField(child=serializers.FloatField())
    overall = QaRecallRowSerializer(many=True)
    n_without_lesion = serializers.IntegerField(help_text="mosaics without a lesional %, not in the simulation")
    sites = QaRecallSiteSerializer(many=True)


class QaMosaicSerializer(serializers.Serializer):
    """One judged mosaic behind a dashboard number. No patient identifier."""

    image = serializers.UUIDField(source="image_id")
    case = serializers.UUIDField(source="image.case_id")
    site_id = serializers.UUIDField(source="image.case.site_id")
    site_name = serializers.CharField(source="image.case.site.name")
    technician_id = serializers.IntegerField(source="image.case.technician_id", allow_null=True)
    technician_name = serializers.SerializerMethodField()
    visit_date = serializers.DateField(source="image.case.visit_date")
    depth_level = serializers.ChoiceField(source="image.depth_level", choices=DepthLevel.choices, allow_blank=True)
    percent_whole = serializers.FloatField()
    percent_lesion = serializers.FloatField(allow_null=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    basis = serializers.ChoiceField(choices=VerdictBasis.choices)
    assessed_at = serializers.DateTimeField()
    can_open = serializers.SerializerMethodField()
    replaced = serializers.SerializerMethodField()
    replaced_at = serializers.DateTimeField(source="image.replaced_at", allow_null=True, help_text=(
        "When a later capture replaced this mosaic (shown as re-captured); null while it is current."))
    thumbnail_url = serializers.SerializerMethodField(help_text=(
        "The mosaic's thumbnail with the model's uninformative areas drawn in, for those who may open the case "
        "(site administrators, not QA administrators, who see aggregates only); null otherwise or when none is "
        "ready. Every fetch is audited."))
    quality_overlay = serializers.SerializerMethodField(help_text=(
        "Whether the thumbnail carries the quality overlay (the judged run's label map is stored)."))

    def get_technician_name(self, quality) -> str:
        from .selectors.groups import technician_label

        technician = quality.image.case.technician
        if technician is None:
            return technician_label(None, None, None)
        return technician_label(technician.first_name, technician.last_name, technician.username)

    def get_replaced(self, quality) -> bool:
        """Whether a later capture replaced this mosaic (it still counts: QA must see what needed re-imaging)."""
        return getattr(quality.image, "replaced_by_id", None) is not None

    def get_can_open(self, quality) -> bool:
        return str(quality.image.case_id) in self.context.get("openable", set())

    def get_thumbnail_url(self, quality) -> str | None:
        from .thumbnails import thumbnail_source

        if not self.get_can_open(quality) or thumbnail_source(quality.image) is None:
            return None
        path = reverse("qa-mosaic-thumbnail", kwargs={"image": quality.image_id})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_quality_overlay(self, quality) -> bool:
        from .thumbnails import labels_key

        return labels_key(quality) is not None
