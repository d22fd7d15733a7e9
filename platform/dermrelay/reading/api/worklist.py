"""The reader's worklist: the cases assigned to them, filtered and ordered."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from dermrelay.api import Pagination
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import CaseStatus

from .. import selectors
from .base import ReadingView


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


class WorklistView(ReadingView):
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
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description=(
            "Paginated rows: case, status, site, visit_date, submitted_at, waiting_seconds, lesion, quality "
            "(state, verdict), assignment (due_at, claimed_at, ...), overdue."))},
    )
    def get(self, request):
        """The cases assigned to you, with waiting time since submission, site, quality verdict and status."""
        query = WorklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = selectors.worklist(user=request.user, statuses=params.get("status"), site_id=params.get("site"),
                                  verdict=params.get("verdict"), overdue=params.get("overdue"),
                                  ordering=params["ordering"])
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        audit_record(actor=request.user, action="worklist", object_type="case",
                     detail={"ids": [row["case"] for row in page], "filters": sorted(request.query_params.keys())})
        return paginator.get_paginated_response(page)
