"""The judged mosaics behind a dashboard number, and a drill-down mosaic's thumbnail with its
quality overlay."""

from __future__ import annotations

import datetime

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView

from dermrelay.api import Pagination
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from .. import thumbnails
from ..selectors.mosaics import (
    mosaic_filter, mosaic_for_thumbnail, mosaic_listing, mosaic_ordered, mosaic_rows, openable_case_ids,
)
from ..serializers import QaMosaicSerializer
from .access import ERRORS, NO_QA_ACCESS, QaView
from .query import DRILL_PARAMETERS, ORDERING_PARAMETER, PERIOD_PARAMETERS, QaQuery, drill_filters, mosaic_ordering, qa_query


def drilled_rows(request, query: QaQuery):
    filters = drill_filters(request.query_params)
    rows = mosaic_rows(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                 site_id=query.site_id, technician_id=query.technician)
    rows = mosaic_filter(rows, filters=filters)
    return mosaic_listing(mosaic_ordered(rows, ordering=mosaic_ordering(request.query_params))), filters


class QaMosaicListView(QaView, ListAPIView):
    serializer_class = QaMosaicSerializer
    pagination_class = Pagination
    filter_backends: list = []

    def get_queryset(self):
        self.qa_query = qa_query(self.request, action="qa_view")
        rows, self.qa_filters = drilled_rows(self.request, self.qa_query)
        return rows

    @extend_schema(parameters=PERIOD_PARAMETERS + DRILL_PARAMETERS + [ORDERING_PARAMETER],
                   responses={200: QaMosaicSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        """The judged mosaics behind a dashboard number, worst first; can_open says whether you may
        open the case in the reader or clinic pages."""
        page = self.paginate_queryset(self.get_queryset())
        openable = openable_case_ids(user=request.user, case_ids=[q.image.case_id for q in page])
        serializer = self.get_serializer(page, many=True, context={"request": request, "openable": openable})
        filters = {k: (v.isoformat() if isinstance(v, datetime.date) else v)
                   for k, v in self.qa_filters.__dict__.items() if v is not None}
        self.audit(request, self.qa_query, endpoint="mosaics", filters=filters,
                   images=[str(q.image_id) for q in page])
        return self.get_paginated_response(serializer.data)


class QaMosaicThumbnailView(QaView):
    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY, 403: NO_QA_ACCESS, 404: OpenApiResponse(
        description="Not a judged mosaic of your QA scope, its case is not one you may open (QA administrators "
                    "see aggregates only), or it has no thumbnail yet.")})
    def get(self, request, image):
        """A drill-down mosaic's thumbnail with the quality model's uninformative areas in orange-red
        (header X-Quality-Overlay: drawn | none). Patient data: audited as view_thumbnail."""
        found = mosaic_for_thumbnail(user=request.user, image_id=image)
        drawn = thumbnails.mosaic_thumbnail_png(found) if found is not None else None
        if found is None:
            audit_record(actor=request.user, action="view_thumbnail", object_type="image", object_id=image,
                         outcome=AuditOutcome.DENIED, detail={"endpoint": "qa-thumbnail"})
        if drawn is None:
            raise NotFound("No thumbnail of this mosaic is available to you.", code="no_thumbnail")
        data, overlaid = drawn
        audit_record(actor=request.user, action="view_thumbnail", object_type="image", object_id=found.image_id,
                     site_id=found.image.case.site_id, detail={"endpoint": "qa-thumbnail", "overlay": overlaid})
        response = HttpResponse(data, content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Quality-Overlay"] = "drawn" if overlaid else "none"
        return response
