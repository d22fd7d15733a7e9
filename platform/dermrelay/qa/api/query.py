"""The query parameters the QA endpoints share, parsed into values or a 400 that names the
problem, and their OpenAPI description."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.gate.models import Verdict
from dermrelay.params import DATE_MAX, DATE_MIN, iso_date, whole_number

from .. import statistics
from ..selectors.mosaics import MEASURES, MOSAIC_ORDERINGS, RECALL_RULES, UNASSIGNED, DrillFilters
from ..selectors.scope import default_period, qa_site_ids


MAX_PERIOD_YEARS = 3
TREND_GROUPS = ("site", "technician", "all")


class BadQuery(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The query is invalid."
    default_code = "invalid_query"


@dataclass(frozen=True)
class QaQuery:
    date_from: datetime.date
    date_to: datetime.date
    site_id: uuid.UUID | None
    technician: int | str | None  # an id, or UNASSIGNED

    def audit_detail(self) -> dict:
        return {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                "site": str(self.site_id) if self.site_id else None,
                "technician": str(self.technician) if self.technician is not None else None}


def _date(params, name: str) -> datetime.date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    day = iso_date(raw)
    if day is None:
        raise BadQuery(f"{name} must be an ISO date (YYYY-MM-DD) from {DATE_MIN.year} to {DATE_MAX.year}; "
                       f"got '{raw[:40]}'.")
    return day


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _period(params) -> tuple[datetime.date, datetime.date]:
    """date_from and date_to (inclusive); by default the last 90 days ending today; at most 3 years."""
    date_from, date_to = _date(params, "date_from"), _date(params, "date_to")
    default_from, default_to = default_period()
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
    if raw == UNASSIGNED:
        return raw
    technician = whole_number(raw)
    if technician is None:
        raise BadQuery(f"technician must be a technician id (a whole number) or '{UNASSIGNED}'; got '{raw[:40]}'.")
    return technician


def qa_query(request, *, action: str) -> QaQuery:
    """The common parameters; a site outside the user's QA scope is a 404 (audited)."""
    params = request.query_params
    date_from, date_to = _period(params)
    site_id = None
    if params.get("site"):
        try:
            site_id = uuid.UUID(params["site"])
        except ValueError:
            raise BadQuery(f"site must be a site id (a UUID); got '{params['site'][:40]}'.") from None
        if site_id not in qa_site_ids(user=request.user):
            audit_record(actor=request.user, action=action, object_type="qa", site_id=site_id,
                         outcome=AuditOutcome.DENIED, detail={"endpoint": request.path})
            raise NotFound()
    return QaQuery(date_from=date_from, date_to=date_to, site_id=site_id, technician=_technician(params))


def drill_filters(params) -> DrillFilters:
    measure, bin_key = params.get("measure") or None, params.get("bin") or None
    if measure is not None and measure not in MEASURES:
        raise BadQuery(f"measure must be one of {', '.join(MEASURES)}; got '{measure[:40]}'.")
    if bin_key is not None and bin_key not in statistics.BIN_KEYS:
        raise BadQuery(f"bin must be one of {', '.join(statistics.BIN_KEYS)}; got '{bin_key[:40]}'.")
    verdict = params.get("verdict") or None
    if verdict is not None and verdict not in Verdict.values:
        raise BadQuery(f"verdict must be one of {', '.join(Verdict.values)}; got '{verdict[:40]}'.")
    recalled_at, rule = params.get("recalled_at") or None, params.get("rule") or None
    if rule is not None and rule not in RECALL_RULES:
        raise BadQuery(f"rule must be one of {', '.join(RECALL_RULES)}; got '{rule[:40]}'.")
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
    return DrillFilters(measure=measure, bin=bin_key, verdict=verdict, recalled_at=threshold, rule=rule,
                                  week=week)


def mosaic_ordering(params) -> str:
    ordering = params.get("ordering") or "-percent_whole"
    if ordering.lstrip("-") not in MOSAIC_ORDERINGS:
        allowed = ", ".join(MOSAIC_ORDERINGS)
        raise BadQuery(f"ordering must be one of {allowed}, with '-' for descending; got '{ordering[:40]}'.")
    return ordering


def trend_group(params) -> str:
    group = params.get("group") or "site"
    if group not in TREND_GROUPS:
        raise BadQuery(f"group must be one of {', '.join(TREND_GROUPS)}; got '{group[:40]}'.")
    return group


PERIOD_PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First visit date included (default: 90 days before date_to)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last visit date included (default: today). At most 3 years after date_from."),
    OpenApiParameter("site", OpenApiTypes.UUID, description="One site of your QA scope (another site is a 404)."),
    OpenApiParameter("technician", {"oneOf": [{"type": "integer"}, {"type": "string", "enum": [UNASSIGNED]}]},
                     description="A technician's id, or 'unassigned' for cases recorded without one."),
]

DRILL_PARAMETERS = [
    OpenApiParameter("measure", OpenApiTypes.STR, enum=list(MEASURES),
                     description="Which percentage `bin` applies to (default whole); measure=lesion alone keeps mosaics with a lesional %."),
    OpenApiParameter("bin", OpenApiTypes.STR, enum=list(statistics.BIN_KEYS), description="One of the paper's bins."),
    OpenApiParameter("verdict", OpenApiTypes.STR, enum=list(Verdict.values)),
    OpenApiParameter("recalled_at", OpenApiTypes.NUMBER,
                     description="Recall threshold (%): mosaics with a lesional % that the rule would recall (percent ≥ threshold)."),
    OpenApiParameter("rule", OpenApiTypes.STR, enum=list(RECALL_RULES),
                     description="With recalled_at: whole, lesion, or recalled by only one of them (whole_only: the recalls the lesional rule saves)."),
    OpenApiParameter("week", OpenApiTypes.DATE, description="A week's Monday (as in the trend's week_start)."),
]

ORDERING_PARAMETER = OpenApiParameter(
    "ordering", OpenApiTypes.STR,
    enum=[f"{sign}{name}" for name in MOSAIC_ORDERINGS for sign in ("-", "")],
    description="Default -percent_whole (worst first).")

BAD_QUERY = OpenApiResponse(description="A parameter is invalid (named in `detail`).")
OUT_OF_SCOPE = OpenApiResponse(description="The site is not in your QA scope.")
