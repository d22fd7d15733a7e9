"""The visits of a case's lesion, for the reader's case header and the side-by-side comparison
with a previous visit."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from dermrelay.audit.services import audit_record
from dermrelay.cases.models import CaseStatus

from .. import selectors
from .base import ReadingView, case_or_404


class VisitDepthSerializer(serializers.Serializer):
    image = serializers.UUIDField(help_text="The current mosaic (its viewer is /images/{id}/viewer/).")
    depth_level = serializers.CharField(help_text="stratum_granulosum, spinosum, dej, papillary_dermis or other")
    depth_um = serializers.FloatField(allow_null=True, help_text="null when the depth in µm was not recorded")


class SignedDiagnosisSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="the latest signed version")
    kind = serializers.CharField(help_text="signature or amendment")
    signed_at = serializers.DateTimeField(help_text="that version's own signing time")
    diagnosis = serializers.CharField()
    diagnosis_label = serializers.CharField()
    diagnosis_other = serializers.CharField()


class LesionVisitSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    visit_date = serializers.DateField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    is_current = serializers.BooleanField(help_text="this is the case the history was asked for")
    quality_verdict = serializers.CharField(allow_null=True, help_text="acceptable, review, reimage or null")
    signed_report = SignedDiagnosisSerializer(allow_null=True, help_text="null until the visit's report is signed")
    mosaic_count = serializers.IntegerField(help_text="current RCM mosaics (replaced captures not counted)")
    mosaics = VisitDepthSerializer(many=True, help_text="the current mosaics, shallowest first")


class LesionHistorySerializer(serializers.Serializer):
    case = serializers.UUIDField()
    visits = LesionVisitSerializer(many=True, help_text="oldest first")


class LesionHistoryView(ReadingView):
    @extend_schema(responses={200: LesionHistorySerializer})
    def get(self, request, pk):
        """The visits of this case's lesion you may read, oldest first, this case marked: for the clinic
        every visit; for the case's reader this case and the lesion's earlier visits, which they may
        open read-only to compare (images, viewer, quality, signed report) while the case is theirs."""
        case = case_or_404(request, pk, "view_lesion_history")
        visits = selectors.lesion_history(user=request.user, case=case)
        audit_record(actor=request.user, action="view_lesion_history", object_type="case", object_id=case.id,
                     site_id=case.site_id, detail={"ids": [str(v["case"]) for v in visits]})
        return Response(LesionHistorySerializer({"case": case.id, "visits": visits}).data)
