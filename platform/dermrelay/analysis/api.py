"""Analyses over the API: runs and admin re-runs, findings, the anatomic-site suggestion, model
versions and plans (the quality gate's endpoints are gate.api).

Cases are found in the requesting user's scope (dermrelay.api.case_in_scope), so scoping is the
same as for the images themselves: another site's case is a 404 (and an audited denial).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.api import case_in_scope, require_site_admin
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import Case
from dermrelay.cases.vocabulary import ANATOM_SITE_GENERAL_CHOICES, validate_anatom_site
from dermrelay.pipeline import steps

from . import runs, selectors
from .models import ModelVersion
from .serializers import (
    AnalysisPlanStepSerializer, AnatomicSiteSuggestionSerializer, CaseAnalysesSerializer, CaseFindingsSerializer, RerunQueuedSerializer,
)


class RerunSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="id of a ModelVersion (see /models/)")


class CaseAnalysesView(APIView):
    @extend_schema(responses=CaseAnalysesSerializer)
    def get(self, request, pk):
        """Every analysis run of the case's images, with model identity, state, numbers and timings."""
        case = case_in_scope(request, pk, "view_analyses")
        audit_record(actor=request.user, action="view_analyses", object_type="case", object_id=case.id, site_id=case.site_id)
        runs = selectors.run_list(images=case.images.all())
        return Response({"case": str(case.id), "runs": [dict(selectors.run_summary(r), image=str(r.image_id)) for r in runs]})


class CaseAnalysesRerunView(APIView):
    @extend_schema(request=RerunSerializer, responses={202: RerunQueuedSerializer})
    def post(self, request, pk):
        """Run a model version again on the case's images (site administrators)."""
        case = case_in_scope(request, pk, "rerun_analysis")
        require_site_admin(request.user, case.site_id)
        serializer = RerunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = ModelVersion.objects.filter(pk=serializer.validated_data["model_version"]).first()
        if version is None:
            raise serializers.ValidationError({"model_version": "No such model version."})
        queued = runs.case_analyses_rerun(actor=request.user, case=case, model_version=version)
        return Response({"runs": [str(r.id) for r in queued]}, status=status.HTTP_202_ACCEPTED)


class CaseFindingsView(APIView):
    @extend_schema(responses=CaseFindingsSerializer)
    def get(self, request, pk):
        """Model results beside the images: diagnosis (model B, ranked classes and the location it
        used) per dermoscopy image, the body-region map per clinical photo."""
        case = case_in_scope(request, pk, "view_findings")
        audit_record(actor=request.user, action="view_findings", object_type="case", object_id=case.id, site_id=case.site_id)
        return Response(selectors.case_findings(case=case))


class AnatomicSiteSerializer(serializers.Serializer):
    anatom_site_general = serializers.ChoiceField(choices=ANATOM_SITE_GENERAL_CHOICES, required=False, allow_blank=True)
    anatom_site = serializers.CharField(required=False, allow_blank=True, max_length=120)

    def validate_anatom_site(self, value):
        try:
            validate_anatom_site(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value


class AnatomicSiteSuggestionView(APIView):
    @extend_schema(responses=AnatomicSiteSuggestionSerializer)
    def get(self, request, pk):
        """The anatomic site the clinical photos' body-region maps suggest, beside the recorded one."""
        case = case_in_scope(request, pk, "view_site_suggestion")
        audit_record(actor=request.user, action="view_site_suggestion", object_type="case", object_id=case.id,
                     site_id=case.site_id)
        return Response(selectors.anatomic_site_suggestion(case=case))

    @extend_schema(request=AnatomicSiteSerializer, responses=AnatomicSiteSuggestionSerializer)
    def post(self, request, pk):
        """Confirm the suggestion (empty body) or give the site yourself; the lesion is updated and
        the diagnosis runs again with it."""
        case = case_in_scope(request, pk, "confirm_anatomic_site", for_change=True)  # the lesion is the clinic's record
        serializer = AnatomicSiteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data
        if not given:
            suggestion = selectors.anatomic_site_suggestion(case=case)["suggestion"]
            if suggestion is None:
                raise serializers.ValidationError({"anatom_site": "There is no suggestion to confirm: give the site."})
            given = suggestion
        steps.anatomic_site_confirm(actor=request.user, case=case, anatom_site_general=given.get("anatom_site_general", ""),
                                       anatom_site=given.get("anatom_site", ""))
        return Response(selectors.anatomic_site_suggestion(case=Case.objects.get(pk=case.pk)))


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "version", "task", "modality", "weights_sha256", "is_active", "status",
                  "status_detail", "card", "synced_at"]


class ModelVersionListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ModelVersionSerializer(many=True))
    def get(self, request):
        """Registered model versions with their cards (no patient data)."""
        return Response(ModelVersionSerializer(ModelVersion.objects.all(), many=True).data)


class AnalysisPlanView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=AnalysisPlanStepSerializer(many=True))
    def get(self, request):
        """Which model runs on which image kind, and whether it is installed."""
        return Response(selectors.plan_listing())
