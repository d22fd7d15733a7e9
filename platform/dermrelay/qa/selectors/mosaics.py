"""The judged RCM mosaics of a user's QA scope and the drill-down filters that take a dashboard
number to the mosaics behind it."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from dermrelay.accounts.models import User
from dermrelay.cases.models import ImageKind
from dermrelay.cases.selectors import case_list
from dermrelay.gate.models import MosaicQuality

from .. import statistics
from .scope import qa_site_ids


UNASSIGNED = "unassigned"
MEASURES = ("whole", "lesion")
RECALL_RULES = ("whole", "lesion", "whole_only", "lesion_only")
MOSAIC_ORDERINGS = ("percent_whole", "percent_lesion", "visit_date", "assessed_at")


def mosaic_rows(*, user: User, date_from: datetime.date, date_to: datetime.date, site_id=None,
                technician_id: int | str | None = None) -> QuerySet[MosaicQuality]:
    """The judged RCM mosaics of the user's QA scope whose case's visit date lies in the period;
    narrowed to one site (which must be in scope, else nothing) and one technician (an id, or
    UNASSIGNED for cases without one). Mosaics later replaced by a re-imaged one are included."""
    scope = qa_site_ids(user=user)
    if site_id is not None:
        scope = {s for s in scope if str(s) == str(site_id)}
    rows = MosaicQuality.objects.filter(
        image__kind=ImageKind.RCM_MOSAIC, image__case__site_id__in=scope,
        image__case__visit_date__gte=date_from, image__case__visit_date__lte=date_to,
    )
    if technician_id == UNASSIGNED:
        rows = rows.filter(image__case__technician__isnull=True)
    elif technician_id is not None:
        rows = rows.filter(image__case__technician_id=int(technician_id))
    return rows


@dataclass(frozen=True)
class DrillFilters:
    """The extra filters that take a dashboard number to the mosaics behind it."""

    measure: str | None = None  # whole | lesion
    bin: str | None = None  # a statistics.BINS key
    verdict: str | None = None
    recalled_at: float | None = None
    rule: str | None = None  # whole | lesion | whole_only | lesion_only
    week: datetime.date | None = None  # a Monday


def _bin_q(field: str, key: str) -> Q:
    """The SQL twin of statistics.bin_index: first bin open below, last bin open above."""
    lower, upper, last = statistics.bin_range(key)
    q = Q(**{f"{field}__isnull": False})
    if key != statistics.BIN_KEYS[0]:
        q &= Q(**{f"{field}__gte": lower})
    if not last:
        q &= Q(**{f"{field}__lt": upper})
    return q


def mosaic_filter(rows: QuerySet[MosaicQuality], *, filters: DrillFilters) -> QuerySet[MosaicQuality]:
    """Apply the drill-down filters; each selects exactly the mosaics counted by the number it
    comes from (a bin count, a verdict count, a recall count, a week's point).

    measure=lesion alone keeps the mosaics that have a lesional %; recalled_at keeps only mosaics
    that have one too, as the recall simulation counts over them. rule=whole_only / lesion_only:
    recalled by one rule and not the other (the mosaics behind 'saved')."""
    measure = filters.measure or "whole"
    field = "percent_lesion" if measure == "lesion" else "percent_whole"
    if filters.bin is not None:
        rows = rows.filter(_bin_q(field, filters.bin))
    elif filters.measure == "lesion":
        rows = rows.filter(percent_lesion__isnull=False)
    if filters.verdict is not None:
        rows = rows.filter(verdict=filters.verdict)
    if filters.recalled_at is not None:
        t = filters.recalled_at
        rows = rows.filter(percent_lesion__isnull=False)
        rows = rows.filter({
            "whole": Q(percent_whole__gte=t), "lesion": Q(percent_lesion__gte=t),
            "whole_only": Q(percent_whole__gte=t, percent_lesion__lt=t),
            "lesion_only": Q(percent_lesion__gte=t, percent_whole__lt=t),
        }[filters.rule or "whole"])
    if filters.week is not None:
        rows = rows.filter(image__case__visit_date__gte=filters.week,
                           image__case__visit_date__lte=filters.week + datetime.timedelta(days=6))
    return rows


def mosaic_ordered(rows: QuerySet[MosaicQuality], *, ordering: str | None = None) -> QuerySet[MosaicQuality]:
    """Worst first by default (percent_whole descending); empty lesional values always last, on
    both database backends; the image id breaks ties so pages never overlap."""
    ordering = ordering or "-percent_whole"
    name = ordering.lstrip("-")
    source = {"visit_date": "image__case__visit_date"}.get(name, name)
    expression = F(source).desc(nulls_last=True) if ordering.startswith("-") else F(source).asc(nulls_last=True)
    return rows.order_by(expression, "image_id")


def mosaic_listing(rows: QuerySet[MosaicQuality]) -> QuerySet[MosaicQuality]:
    """The related rows a drill-down line shows (technician and site names, no patient; the judged
    run, for whether a quality overlay can be drawn on its thumbnail)."""
    return rows.select_related("image", "image__case", "image__case__site", "image__case__technician", "run")


def openable_case_ids(*, user: User, case_ids: Iterable) -> set:
    """Which of these cases the user may open in the reader and clinic pages (cases.case_list)."""
    ids = list({str(c) for c in case_ids})
    if not ids:
        return set()
    return {str(c) for c in case_list(user=user).filter(id__in=ids).values_list("id", flat=True)}


def mosaic_for_thumbnail(*, user: User, image_id) -> MosaicQuality | None:
    """A judged mosaic of the user's QA scope whose case the user may also open (openable_case_ids):
    its pixels are patient data, so a site administrator sees its thumbnail and a QA administrator,
    who sees aggregates only, does not. None otherwise (the view answers 404)."""
    found = (MosaicQuality.objects.filter(image_id=image_id, image__kind=ImageKind.RCM_MOSAIC,
                                          image__case__site_id__in=qa_site_ids(user=user))
             .select_related("image", "image__case", "run").first())
    if found is None or str(found.image.case_id) not in openable_case_ids(user=user, case_ids=[found.image.case_id]):
        return None
    return found
