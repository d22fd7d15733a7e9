"""The reader's worklist: the cases assigned to them, filtered and ordered."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from dermrelay.api import Pagination
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import CaseStatus
from dermrelay.gate.models import Verdict
from dermrelay.gate.serializers import CASE_QUALITY_STATES

from .. import selectors
from .base import CaseLesionSerializer, ReadingView


class WorklistQuerySerializer(serializers.Serializer):
    status = serializers.CharField(required=False, help_text="comma-separated case statuses; open cases by default")
    site = serializers.UUIDField(required=False)
    verdict = serializers.ChoiceField(choices=["acceptable", "review", "reimage"], required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    ordering = serializers.ChoiceField(
        choices=[*selectors.WORKLIST_ORDERINGS, *(f"-{o}" for o in selectors.WORKLIST_ORDERINGS)], required=False,
        default="-waiting")

    def validate_status(self, value):
        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in CaseStatus.values]
        if unknown or not statuses:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown) or value!r}.")
        return statuses


class WorklistSiteSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class WorklistQualitySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=CASE_QUALITY_STATES)
    verdict = serializers.ChoiceField(choices=Verdict.choices, allow_null=True)
    verdict_is_final = serializers.BooleanField()


class WorklistAssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    assigned_by = serializers.CharField(help_text="username")
    assigned_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)


class WorklistRowSerializer(serializers.Serializer):
    case = serializers.UUIDField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    site = WorklistSiteSerializer()
    visit_date = serializers.DateField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    waiting_seconds = serializers.IntegerField(allow_null=True, help_text="since submission")
    lesion = CaseLesionSerializer()
    quality = WorklistQualitySerializer()
    assignment = WorklistAssignmentSerializer()
    overdue = serializers.BooleanField()


class WorklistView(ReadingView):
    pagination_class = Pagination  # read by the schema; the view pages with it too

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="comma-separated case statuses (default: open cases)"),
            OpenApiParameter("site", OpenApiTypes.UUID),
            OpenApiParameter("verdict", str, enum=["acceptable", "review", "reimage"]),
            OpenApiParameter("overdue", bool),
            OpenApiParameter("ordering", str, enum=[*selectors.WORKLIST_ORDERINGS,
                                                    *(f"-{o}" for o in selectors.WORKLIST_ORDERINGS)],
                             description="default -waiting: the longest waiting first"),
            OpenApiParameter("page", int), OpenApiParameter("page_size", int),
        ],
        responses=WorklistRowSerializer(many=True),
    )
    def get(self, request):
        """The cases assigned to you, with waiting time since submission, site, quality verdict and status."""
        query = WorklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = selectors.worklist(user=request.user, statuses=params.get("status"), site_id=params.get("site"),
                                  verdict=params.get("verdict"), overdue=params.get("overdue"),
                                  ordering=params["ordering"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self)
        audit_record(actor=request.user, action="worklist", object_type="case",
                     detail={"ids": [row["case"] for row in page], "filters": sorted(request.query_params.keys())})
        return paginator.get_paginated_response(page)
