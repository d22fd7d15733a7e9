"""A dashboard table as CSV: the figures rounded as a person reads them, and no cell a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import datetime
import io
import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer

from .. import statistics
from ..selectors.dashboards import qa_recall, qa_summary, qa_trend
from ..selectors.mosaics import MEASURES
from ..serializers import QaMosaicSerializer
from .access import ERRORS, QaView
from .drilldown import drilled_rows
from .query import (
    DRILL_PARAMETERS, ORDERING_PARAMETER, PERIOD_PARAMETERS, TREND_GROUPS, BadQuery, QaQuery, qa_query, trend_group,
)


EXPORT_TABLES = ("mosaics", "groups", "recall", "trend")


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
        rows, _ = drilled_rows(request, query)
        header = ["image", "case", "site_id", "site_name", "technician_id", "technician_name", "visit_date",
                  "depth_level", "percent_whole", "percent_lesion", "verdict", "basis", "assessed_at", "recaptured"]
        data = QaMosaicSerializer(rows, many=True, context={"openable": set()}).data
        return header, [[row["replaced"] if name == "recaptured" else row[name] for name in header] for row in data]
    if table == "groups":
        summary = qa_summary(user=user, **period, **scope)
        header = ["kind", "key", "label", "site_id", "site_name", "n_mosaics"]
        for measure in MEASURES:
            header += [f"{measure}_{name}" for name in ("n", "mean", "median", "sd")]
            header += [f"{measure}_bin_{key}" for key in statistics.BIN_KEYS]
        header += ["verdict_acceptable", "verdict_review", "verdict_reimage"]
        for measure in MEASURES:
            header += [f"outlier_{measure}_{name}" for name in (
                "status", "n", "pool_n", "group_median", "pool_median", "u", "z", "p", "p_adjusted",
                "effect_size", "magnitude", "direction", "flagged", "reason")]
        header.append("flagged")
        lines = []
        for group in summary["sites"] + summary["technicians"]:
            line = [group["kind"], group["key"], group["label"], group["site_id"], group["site_name"], group["n_mosaics"]]
            for measure in MEASURES:
                described = group[measure]
                line += [described[name] for name in ("n", "mean", "median", "sd")]
                line += [b["count"] for b in described["bins"]]
            line += [group["verdicts"][v] for v in ("acceptable", "review", "reimage")]
            for measure in MEASURES:
                evidence = group["outlier"][measure]
                line += [evidence[name] for name in ("status", "n", "pool_n", "group_median", "pool_median", "u", "z",
                                                     "p", "p_adjusted", "effect_size", "magnitude", "direction",
                                                     "flagged", "reason")]
            line.append(group["outlier"]["flagged"])
            lines.append(line)
        return header, lines
    if table == "recall":
        recall = qa_recall(user=user, **period, **scope)
        header = ["scope", "site_id", "site_name", "threshold", "n", "whole_recalls", "lesion_recalls", "saved",
                  "saved_percent", "n_without_lesion"]
        fields = ("threshold", "n", "whole_recalls", "lesion_recalls", "saved", "saved_percent")
        lines = [["overall", None, None, *[row[f] for f in fields], recall["n_without_lesion"]] for row in recall["overall"]]
        for site in recall["sites"]:
            lines += [["site", site["site_id"], site["site_name"], *[row[f] for f in fields], site["n_without_lesion"]]
                      for row in site["rows"]]
        return header, lines
    trend = qa_trend(user=user, **period, **scope, group=trend_group(request.query_params))
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
        query = qa_query(request, action="qa_export")
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
