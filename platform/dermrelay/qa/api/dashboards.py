"""The dashboards' figures: scope, summary with outliers, weekly trend, recall simulation."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from ..selectors.dashboards import qa_recall, qa_summary, qa_trend
from ..selectors.scope import qa_scope
from ..serializers import QaRecallSerializer, QaScopeSerializer, QaSummarySerializer, QaTrendSerializer
from .access import ERRORS, NO_QA_ACCESS, QaView
from .query import PERIOD_PARAMETERS, TREND_GROUPS, qa_query, trend_group


class QaScopeView(QaView):
    @extend_schema(responses={200: QaScopeSerializer, 403: NO_QA_ACCESS})
    def get(self, request):
        """The sites of your QA scope, your roles there and the default period."""
        self.audit(request, None, endpoint="scope")
        return Response(QaScopeSerializer(qa_scope(user=request.user)).data)


class QaSummaryView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS, responses={200: QaSummarySerializer, **ERRORS})
    def get(self, request):
        """Per site and per technician: mosaic counts, mean / median / sd and the paper's bins of %
        uninformative over the mosaic and within the lesion, verdicts, and outlier evidence."""
        query = qa_query(request, action="qa_view")
        data = qa_summary(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                    site_id=query.site_id, technician_id=query.technician)
        self.audit(request, query, endpoint="summary")
        return Response(QaSummarySerializer(data).data)


class QaTrendView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS + [
        OpenApiParameter("group", OpenApiTypes.STR, enum=list(TREND_GROUPS), description="Series per site (default), technician, or both."),
    ], responses={200: QaTrendSerializer, **ERRORS})
    def get(self, request):
        """Weekly points (ISO weeks of the visit date), every week of the period included."""
        query = qa_query(request, action="qa_view")
        group = trend_group(request.query_params)
        data = qa_trend(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                  site_id=query.site_id, technician_id=query.technician, group=group)
        self.audit(request, query, endpoint="trend", group=group)
        return Response(QaTrendSerializer(data).data)


class QaRecallView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS, responses={200: QaRecallSerializer, **ERRORS})
    def get(self, request):
        """Recall simulation (Kose et al. 2020, Figure 2): recalls at 5, 10, 15 and 25% deciding on
        the whole mosaic vs the lesion, overall and per site."""
        query = qa_query(request, action="qa_view")
        data = qa_recall(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                   site_id=query.site_id, technician_id=query.technician)
        self.audit(request, query, endpoint="recall")
        return Response(QaRecallSerializer(data).data)
