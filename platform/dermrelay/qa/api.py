"""The QA dashboards' API under /api/v1/qa/: scope, summary (with outliers), weekly trend, recall
simulation, drill-down to the mosaics behind any number, and CSV export.

Who: qa_admin at the sites where they hold it, site_admin at their own site(s); technicians and
readers get a 403 saying so. A site outside the user's QA scope is a 404 (audited as a denial).
Every read writes an audit event (qa_view, or qa_export for CSV). Thin: parsing and permissions
here, the numbers in qa.selectors and qa.statistics.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from dataclasses import dataclass

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.generics import ListAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.analysis.models import Verdict
from dermrelay.api import Pagination
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record

from . import selectors, statistics, thumbnails
from .serializers import (
    QaMosaicSerializer, QaRecallSerializer, QaScopeSerializer, QaSummarySerializer, QaTrendSerializer,
)

MAX_PERIOD_YEARS = 3
EXPORT_TABLES = ("mosaics", "groups", "recall", "trend")
TREND_GROUPS = ("site", "technician", "all")
NO_ACCESS = ("The QA dashboards are for quality administrators and site administrators; you hold neither "
             "role at an active site (technicians and readers have no QA access). Ask a site administrator if you need it.")


class BadQuery(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The query is invalid."
    default_code = "invalid_query"


class QAAccess(permissions.BasePermission):
    """Holds qa_admin or site_admin at one active site at least (or is a staff superuser)."""

    message = NO_ACCESS

    def has_permission(self, request, view) -> bool:
        return bool(selectors.qa_site_ids(user=request.user))


# --------------------------------------------------------------------------- query parameters


@dataclass(frozen=True)
class QaQuery:
    date_from: datetime.date
    date_to: datetime.date
    site_id: uuid.UUID | None
    technician: int | str | None  # an id, or selectors.UNASSIGNED

    def audit_detail(self) -> dict:
        return {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                "site": str(self.site_id) if self.site_id else None,
                "technician": str(self.technician) if self.technician is not None else None}


def _date(params, name: str) -> datetime.date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be an ISO date (YYYY-MM-DD); got '{raw[:40]}'.") from None


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _period(params) -> tuple[datetime.date, datetime.date]:
    """date_from and date_to (inclusive); by default the last 90 days ending today; at most 3 years."""
    date_from, date_to = _date(params, "date_from"), _date(params, "date_to")
    default_from, default_to = selectors.default_period()
    if date_to is None:
        date_to = default_to
    if date_from is None:
        date_from = date_to - (default_to - default_from)
    if date_from > date_to:
        raise BadQuery(f"date_from ({date_from.isoformat()}) is after date_to ({date_to.isoformat()}).")
    if date_to > _years_later(date_from, MAX_PERIOD_YEARS):
        raise BadQuery(f"The period is longer than {MAX_PERIOD_YEARS} years; choose a shorter one.")
    return date_from, date_to


def _technician(params) -> int | str | None:
    raw = params.get("technician")
    if raw in (None, ""):
        return None
    if raw == selectors.UNASSIGNED:
        return raw
    if not raw.isdigit():
        raise BadQuery(f"technician must be a technician id (a whole number) or '{selectors.UNASSIGNED}'; got '{raw[:40]}'.")
    return int(raw)


def _query(request, *, action: str) -> QaQuery:
    """The common parameters; a site outside the user's QA scope is a 404 (audited)."""
    params = request.query_params
    date_from, date_to = _period(params)
    site_id = None
    if params.get("site"):
        try:
            site_id = uuid.UUID(params["site"])
        except ValueError:
            raise BadQuery(f"site must be a site id (a UUID); got '{params['site'][:40]}'.") from None
        if site_id not in selectors.qa_site_ids(user=request.user):
            audit_record(actor=request.user, action=action, object_type="qa", site_id=site_id,
                         outcome=AuditOutcome.DENIED, detail={"endpoint": request.path})
            raise NotFound()
    return QaQuery(date_from=date_from, date_to=date_to, site_id=site_id, technician=_technician(params))


def _drill_filters(params) -> selectors.DrillFilters:
    measure, bin_key = params.get("measure") or None, params.get("bin") or None
    if measure is not None and measure not in selectors.MEASURES:
        raise BadQuery(f"measure must be one of {', '.join(selectors.MEASURES)}; got '{measure[:40]}'.")
    if bin_key is not None and bin_key not in statistics.BIN_KEYS:
        raise BadQuery(f"bin must be one of {', '.join(statistics.BIN_KEYS)}; got '{bin_key[:40]}'.")
    verdict = params.get("verdict") or None
    if verdict is not None and verdict not in Verdict.values:
        raise BadQuery(f"verdict must be one of {', '.join(Verdict.values)}; got '{verdict[:40]}'.")
    recalled_at, rule = params.get("recalled_at") or None, params.get("rule") or None
    if rule is not None and rule not in selectors.RECALL_RULES:
        raise BadQuery(f"rule must be one of {', '.join(selectors.RECALL_RULES)}; got '{rule[:40]}'.")
    if (recalled_at is None) != (rule is None):
        raise BadQuery("recalled_at and rule go together: the threshold and the rule (whole or lesion) it is applied with.")
    threshold = None
    if recalled_at is not None:
        try:
            threshold = float(recalled_at)
        except ValueError:
            raise BadQuery(f"recalled_at must be a percentage; got '{recalled_at[:40]}'.") from None
        if not 0 < threshold <= 100:
            raise BadQuery("recalled_at must be a percentage above 0 and at most 100.")
    week = _date(params, "week")
    if week is not None and week.weekday() != 0:
        raise BadQuery(f"week must be the Monday a week starts on; {week.isoformat()} is a {week:%A}.")
    return selectors.DrillFilters(measure=measure, bin=bin_key, verdict=verdict, recalled_at=threshold, rule=rule,
                                  week=week)


def _ordering(params) -> str:
    ordering = params.get("ordering") or "-percent_whole"
    if ordering.lstrip("-") not in selectors.MOSAIC_ORDERINGS:
        allowed = ", ".join(selectors.MOSAIC_ORDERINGS)
        raise BadQuery(f"ordering must be one of {allowed}, with '-' for descending; got '{ordering[:40]}'.")
    return ordering


def _trend_group(params) -> str:
    group = params.get("group") or "site"
    if group not in TREND_GROUPS:
        raise BadQuery(f"group must be one of {', '.join(TREND_GROUPS)}; got '{group[:40]}'.")
    return group


PERIOD_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First visit date included (default: 90 days before date_to)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last visit date included (default: today). At most 3 years after date_from."),
    OpenApiParameter("site", OpenApiTypes.UUID, description="One site of your QA scope (another site is a 404)."),
    OpenApiParameter("technician", {"oneOf": [{"type": "integer"}, {"type": "string", "enum": [selectors.UNASSIGNED]}]},
                     description="A technician's id, or 'unassigned' for cases recorded without one."),
]
DRILL_PARAMETERS = [
    OpenApiParameter("measure", OpenApiTypes.STR, enum=list(selectors.MEASURES),
                     description="Which percentage `bin` applies to (default whole); measure=lesion alone keeps mosaics with a lesional %."),
    OpenApiParameter("bin", OpenApiTypes.STR, enum=list(statistics.BIN_KEYS), description="One of the paper's bins."),
    OpenApiParameter("verdict", OpenApiTypes.STR, enum=list(Verdict.values)),
    OpenApiParameter("recalled_at", OpenApiTypes.NUMBER,
                     description="Recall threshold (%): mosaics with a lesional % that the rule would recall (percent ≥ threshold)."),
    OpenApiParameter("rule", OpenApiTypes.STR, enum=list(selectors.RECALL_RULES),
                     description="With recalled_at: whole, lesion, or recalled by only one of them (whole_only: the recalls the lesional rule saves)."),
    OpenApiParameter("week", OpenApiTypes.DATE, description="A week's Monday (as in the trend's week_start)."),
]
ORDERING_PARAMETER = OpenApiParameter(
    "ordering", OpenApiTypes.STR,
    enum=[f"{sign}{name}" for name in selectors.MOSAIC_ORDERINGS for sign in ("-", "")],
    description="Default -percent_whole (worst first).")
BAD_QUERY = OpenApiResponse(description="A parameter is invalid (named in `detail`).")
NO_QA_ACCESS = OpenApiResponse(description=NO_ACCESS)
OUT_OF_SCOPE = OpenApiResponse(description="The site is not in your QA scope.")
ERRORS = {400: BAD_QUERY, 403: NO_QA_ACCESS, 404: OUT_OF_SCOPE}


# --------------------------------------------------------------------------- views


class QaView(APIView):
    permission_classes = [permissions.IsAuthenticated, QAAccess]

    def permission_denied(self, request, message=None, code=None):
        if request.user.is_authenticated:
            audit_record(actor=request.user, action="qa_view", object_type="qa", outcome=AuditOutcome.DENIED,
                         detail={"endpoint": request.path})
        super().permission_denied(request, message=message, code=code)

    def audit(self, request, query: QaQuery | None, *, endpoint: str, action: str = "qa_view", **detail) -> None:
        audit_record(actor=request.user, action=action, object_type="qa",
                     site_id=query.site_id if query else None,
                     detail={"endpoint": endpoint, **(query.audit_detail() if query else {}), **detail})


class QaScopeView(QaView):
    @extend_schema(responses={200: QaScopeSerializer, 403: NO_QA_ACCESS})
    def get(self, request):
        """The sites of your QA scope, your roles there and the default period."""
        self.audit(request, None, endpoint="scope")
        return Response(QaScopeSerializer(selectors.qa_scope(user=request.user)).data)


class QaSummaryView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS, responses={200: QaSummarySerializer, **ERRORS})
    def get(self, request):
        """Per site and per technician: mosaic counts, mean / median / sd and the paper's bins of %
        uninformative over the mosaic and within the lesion, verdicts, and outlier evidence."""
        query = _query(request, action="qa_view")
        data = selectors.qa_summary(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                    site_id=query.site_id, technician_id=query.technician)
        self.audit(request, query, endpoint="summary")
        return Response(QaSummarySerializer(data).data)


class QaTrendView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS + [
        OpenApiParameter("group", OpenApiTypes.STR, enum=list(TREND_GROUPS), description="Series per site (default), technician, or both."),
    ], responses={200: QaTrendSerializer, **ERRORS})
    def get(self, request):
        """Weekly points (ISO weeks of the visit date), every week of the period included."""
        query = _query(request, action="qa_view")
        group = _trend_group(request.query_params)
        data = selectors.qa_trend(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                  site_id=query.site_id, technician_id=query.technician, group=group)
        self.audit(request, query, endpoint="trend", group=group)
        return Response(QaTrendSerializer(data).data)


class QaRecallView(QaView):
    @extend_schema(parameters=PERIOD_PARAMETERS, responses={200: QaRecallSerializer, **ERRORS})
    def get(self, request):
        """Recall simulation (Kose et al. 2020, Figure 2): recalls at 5, 10, 15 and 25% deciding on
        the whole mosaic vs the lesion, overall and per site."""
        query = _query(request, action="qa_view")
        data = selectors.qa_recall(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                   site_id=query.site_id, technician_id=query.technician)
        self.audit(request, query, endpoint="recall")
        return Response(QaRecallSerializer(data).data)


def _drilled_rows(request, query: QaQuery):
    filters = _drill_filters(request.query_params)
    rows = selectors.mosaic_rows(user=request.user, date_from=query.date_from, date_to=query.date_to,
                                 site_id=query.site_id, technician_id=query.technician)
    rows = selectors.mosaic_filter(rows, filters=filters)
    return selectors.mosaic_listing(selectors.mosaic_ordered(rows, ordering=_ordering(request.query_params))), filters


class QaMosaicListView(QaView, ListAPIView):
    serializer_class = QaMosaicSerializer
    pagination_class = Pagination
    filter_backends: list = []

    def get_queryset(self):
        self.qa_query = _query(self.request, action="qa_view")
        rows, self.qa_filters = _drilled_rows(self.request, self.qa_query)
        return rows

    @extend_schema(parameters=PERIOD_PARAMETERS + DRILL_PARAMETERS + [ORDERING_PARAMETER],
                   responses={200: QaMosaicSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        """The judged mosaics behind a dashboard number, worst first; can_open says whether you may
        open the case in the reader or clinic pages."""
        page = self.paginate_queryset(self.get_queryset())
        openable = selectors.openable_case_ids(user=request.user, case_ids=[q.image.case_id for q in page])
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
        found = selectors.mosaic_for_thumbnail(user=request.user, image_id=image)
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


# --------------------------------------------------------------------------- CSV


class CsvRenderer(BaseRenderer):
    """Lets a client ask for text/csv; errors then come as one line of text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict):
            return str(data.get("detail", data)).encode()
        return str(data or "").encode()


NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return)
    gets a leading single quote, unless it is a plain number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not NUMBER.match(text):
        return "'" + text
    return text


def csv_figure(column: str, value):
    """A figure as a person reads it in a spreadsheet: percentages and their means, medians and SDs
    (everything here that is a percentage) to 0.1, p-values to 3 significant digits (a small one
    must not round to 0), z to 0.01, U to 0.1 (it counts half ties), the rank-biserial r to 0.001.
    Counts and text pass unchanged; the JSON API keeps full precision."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    name = column.rsplit("_", 1)[-1]
    if column.endswith(("_p", "_p_adjusted")):
        return float(f"{value:.3g}")
    digits = {"z": 2, "u": 1, "size": 3}.get(name, 1)  # size: effect_size
    return round(value, digits) + 0.0  # + 0.0: no "-0.0"


def _csv_table(table: str, request, query: QaQuery) -> tuple[list[str], list[list]]:
    user, period = request.user, {"date_from": query.date_from, "date_to": query.date_to}
    scope = {"site_id": query.site_id, "technician_id": query.technician}
    if table == "mosaics":
        rows, _ = _drilled_rows(request, query)
        header = ["image", "case", "site_id", "site_name", "technician_id", "technician_name", "visit_date",
                  "depth_level", "percent_whole", "percent_lesion", "verdict", "basis", "assessed_at", "recaptured"]
        data = QaMosaicSerializer(rows, many=True, context={"openable": set()}).data
        return header, [[row["replaced"] if name == "recaptured" else row[name] for name in header] for row in data]
    if table == "groups":
        summary = selectors.qa_summary(user=user, **period, **scope)
        header = ["kind", "key", "label", "site_id", "site_name", "n_mosaics"]
        for measure in selectors.MEASURES:
            header += [f"{measure}_{name}" for name in ("n", "mean", "median", "sd")]
            header += [f"{measure}_bin_{key}" for key in statistics.BIN_KEYS]
        header += ["verdict_acceptable", "verdict_review", "verdict_reimage"]
        for measure in selectors.MEASURES:
            header += [f"outlier_{measure}_{name}" for name in (
                "status", "n", "pool_n", "group_median", "pool_median", "u", "z", "p", "p_adjusted",
                "effect_size", "magnitude", "direction", "flagged", "reason")]
        header.append("flagged")
        lines = []
        for group in summary["sites"] + summary["technicians"]:
            line = [group["kind"], group["key"], group["label"], group["site_id"], group["site_name"], group["n_mosaics"]]
            for measure in selectors.MEASURES:
                described = group[measure]
                line += [described[name] for name in ("n", "mean", "median", "sd")]
                line += [b["count"] for b in described["bins"]]
            line += [group["verdicts"][v] for v in ("acceptable", "review", "reimage")]
            for measure in selectors.MEASURES:
                evidence = group["outlier"][measure]
                line += [evidence[name] for name in ("status", "n", "pool_n", "group_median", "pool_median", "u", "z",
                                                     "p", "p_adjusted", "effect_size", "magnitude", "direction",
                                                     "flagged", "reason")]
            line.append(group["outlier"]["flagged"])
            lines.append(line)
        return header, lines
    if table == "recall":
        recall = selectors.qa_recall(user=user, **period, **scope)
        header = ["scope", "site_id", "site_name", "threshold", "n", "whole_recalls", "lesion_recalls", "saved",
                  "saved_percent", "n_without_lesion"]
        fields = ("threshold", "n", "whole_recalls", "lesion_recalls", "saved", "saved_percent")
        lines = [["overall", None, None, *[row[f] for f in fields], recall["n_without_lesion"]] for row in recall["overall"]]
        for site in recall["sites"]:
            lines += [["site", site["site_id"], site["site_name"], *[row[f] for f in fields], site["n_without_lesion"]]
                      for row in site["rows"]]
        return header, lines
    trend = selectors.qa_trend(user=user, **period, **scope, group=_trend_group(request.query_params))
    header = ["kind", "key", "label", "week_start", "n", "mean_whole", "median_whole", "mean_lesion", "n_lesion"]
    fields = ("week_start", "n", "mean_whole", "median_whole", "mean_lesion", "n_lesion")
    lines = [["pool", None, "All shown", *[p[f] for f in fields]] for p in trend["pool"]["points"]]
    for series in trend["series"]:
        lines += [[series["kind"], series["key"], series["label"], *[p[f] for f in fields]] for p in series["points"]]
    return header, lines


class QaExportView(QaView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("table", OpenApiTypes.STR, enum=list(EXPORT_TABLES), required=True,
                                     description="mosaics (drill-down rows, with its filters), groups (the summary's "
                                                 "site and technician rows), recall, or trend (with `group`).")]
        + PERIOD_PARAMETERS + DRILL_PARAMETERS + [ORDERING_PARAMETER, OpenApiParameter(
            "group", OpenApiTypes.STR, enum=list(TREND_GROUPS), description="trend: series per site (default), technician, or both.")],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row, as an attachment."),
                   **ERRORS})
    def get(self, request):
        """A dashboard table as CSV (UTF-8, header row), e.g. dermrelay-qa-mosaics-2026-08-26_2026-11-24.csv."""
        table = request.query_params.get("table") or ""
        if table not in EXPORT_TABLES:
            raise BadQuery(f"table must be one of {', '.join(EXPORT_TABLES)}; got '{table[:40]}'.")
        query = _query(request, action="qa_export")
        header, lines = _csv_table(table, request, query)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows([csv_cell(csv_figure(column, cell)) for column, cell in zip(header, line)] for line in lines)
        filename = f"dermrelay-qa-{table}-{query.date_from.isoformat()}_{query.date_to.isoformat()}.csv"
        self.audit(request, query, endpoint="export", action="qa_export", table=table, rows=len(lines))
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
