"""Reads for the QA dashboards: per-site and per-technician statistics of the quality gate's
judgements, always scoped to the sites where the user holds qa_admin or site_admin.

The rows are MosaicQuality judgements (one per judged RCM mosaic) with their image and case, read
through the analysis and cases models, never written. The period filters the case's visit date,
both ends included; weeks are ISO weeks (Monday start) computed in Python, so SQLite and
PostgreSQL give the same answer.

Every judged mosaic counts, including a mosaic that was later replaced by a re-imaged one: a poor
mosaic that had to be re-imaged is exactly what QA must see. No patient identifier (name, MRN,
birth date) is read here: case and image ids, visit dates, technician and site names only.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.accounts.selectors import site_ids_for_user, site_roles
from dermrelay.analysis.models import MosaicQuality
from dermrelay.analysis.services import quality_thresholds
from dermrelay.cases.models import ImageKind
from dermrelay.cases.selectors import case_list

from . import statistics

QA_ROLES = (Role.QA_ADMIN, Role.SITE_ADMIN)
UNASSIGNED = "unassigned"
UNASSIGNED_LABEL = "Unassigned technician"
DEFAULT_PERIOD_DAYS = 90
MEASURES = ("whole", "lesion")
RECALL_RULES = ("whole", "lesion", "whole_only", "lesion_only")
MOSAIC_ORDERINGS = ("percent_whole", "percent_lesion", "visit_date", "assessed_at")

# What one row of the aggregations reads (no patient field among them).
ROW_FIELDS = {
    "image": "image_id", "case": "image__case_id", "site_id": "image__case__site_id",
    "site_name": "image__case__site__name", "technician_id": "image__case__technician_id",
    "technician_username": "image__case__technician__username",
    "technician_first": "image__case__technician__first_name", "technician_last": "image__case__technician__last_name",
    "visit_date": "image__case__visit_date", "percent_whole": "percent_whole", "percent_lesion": "percent_lesion",
    "verdict": "verdict",
}


# --------------------------------------------------------------------------- scope and period


def qa_site_ids(*, user: User) -> set:
    """Sites whose QA statistics the user may see: where they are qa_admin or site_admin; a staff
    superuser sees every active site. Empty for everyone else (technicians, readers)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_staff and user.is_superuser:
        return set(Site.objects.filter(is_active=True).values_list("id", flat=True))
    return site_ids_for_user(user=user, roles=QA_ROLES)


def qa_scope(*, user: User) -> dict:
    """The sites in the user's QA scope, their roles there and the default period."""
    ids = qa_site_ids(user=user)
    roles = site_roles(user=user)
    date_from, date_to = default_period()
    return {
        "sites": [{"id": site.id, "name": site.name, "code": site.code}
                  for site in Site.objects.filter(id__in=ids).order_by("name")],
        "roles": {str(site_id): roles.get(str(site_id), []) for site_id in sorted(ids, key=str)},
        "default_period": {"date_from": date_from, "date_to": date_to},
        "bins": bin_definitions(),
        "recall_thresholds": list(statistics.RECALL_THRESHOLDS),
    }


def default_period(*, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last 90 days ending today (both ends included)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    return today - datetime.timedelta(days=DEFAULT_PERIOD_DAYS), today


def week_start(day: datetime.date) -> datetime.date:
    """The Monday of the ISO week the day falls in."""
    return day - datetime.timedelta(days=day.weekday())


def period_weeks(*, date_from: datetime.date, date_to: datetime.date) -> list[datetime.date]:
    """Every week (its Monday) that the period touches, in order, with or without mosaics."""
    weeks, monday = [], week_start(date_from)
    while monday <= date_to:
        weeks.append(monday)
        monday += datetime.timedelta(days=7)
    return weeks


def bin_definitions() -> list[dict]:
    return [{"key": key, "label": label, "lower": lower, "upper": upper} for key, label, lower, upper in statistics.BINS]


# --------------------------------------------------------------------------- rows


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


def technician_label(first: str | None, last: str | None, username: str | None) -> str:
    if username is None:
        return UNASSIGNED_LABEL
    return f"{first or ''} {last or ''}".strip() or username


def _rows(queryset: QuerySet[MosaicQuality]) -> list[dict]:
    found = []
    for values in queryset.values(*ROW_FIELDS.values()).order_by("image__case__visit_date", "image_id"):
        row = {name: values[source] for name, source in ROW_FIELDS.items()}
        row["technician_key"] = str(row["technician_id"]) if row["technician_id"] is not None else UNASSIGNED
        row["technician_name"] = technician_label(row.pop("technician_first"), row.pop("technician_last"),
                                                  row.pop("technician_username"))
        found.append(row)
    return found


# --------------------------------------------------------------------------- groups


@dataclass
class _Group:
    kind: str  # site | technician
    key: str
    label: str
    rows: list[dict]
    site_ids: list  # the sites its rows (or memberships) are at
    site_names: dict


def _site_groups(rows: list[dict], sites: list[Site]) -> list[_Group]:
    by_site = defaultdict(list)
    for row in rows:
        by_site[str(row["site_id"])].append(row)
    return [_Group("site", str(site.id), site.name, by_site.get(str(site.id), []), [site.id], {site.id: site.name})
            for site in sites]


def _technician_groups(rows: list[dict], *, site_ids: set, technician_id=None) -> list[_Group]:
    """Technicians with mosaics in the rows, plus the technicians of the sites in scope who have
    none (shown with n = 0); cases without a technician make one 'Unassigned technician' group."""
    groups: dict[str, _Group] = {}
    for row in rows:
        group = groups.get(row["technician_key"])
        if group is None:
            group = groups[row["technician_key"]] = _Group("technician", row["technician_key"], row["technician_name"],
                                                           [], [], {})
        group.rows.append(row)
        if row["site_id"] not in group.site_names:
            group.site_ids.append(row["site_id"])
            group.site_names[row["site_id"]] = row["site_name"]
    members = (Membership.objects.filter(site_id__in=site_ids, role=Role.TECHNICIAN, user__is_active=True)
               .select_related("user", "site").order_by("site__name", "user__username"))
    for membership in members:
        key = str(membership.user_id)
        if technician_id is not None and key != str(technician_id):
            continue
        user = membership.user
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group("technician", key, technician_label(user.first_name, user.last_name,
                                                                             user.username), [], [], {})
        if not group.rows and membership.site_id not in group.site_names:
            group.site_ids.append(membership.site_id)
            group.site_names[membership.site_id] = membership.site.name
    return sorted(groups.values(), key=lambda g: (g.key == UNASSIGNED, g.label.lower(), g.key))


def _lesion_values(rows: list[dict]) -> list[float]:
    return [row["percent_lesion"] for row in rows if row["percent_lesion"] is not None]


def _family_outliers(groups: list[_Group], *, pool_label: str) -> dict[str, dict]:
    """key → {whole: evidence, lesion: evidence, flagged} for one family (see statistics)."""
    whole = statistics.outliers([(g.key, g.label, [r["percent_whole"] for r in g.rows]) for g in groups],
                                measure="whole", pool_label=pool_label)
    lesion = statistics.outliers([(g.key, g.label, _lesion_values(g.rows)) for g in groups],
                                 measure="lesion", pool_label=pool_label)
    return {g.key: {"whole": whole[g.key], "lesion": lesion[g.key],
                    "flagged": whole[g.key]["flagged"] or lesion[g.key]["flagged"]} for g in groups}


def _verdicts(rows: list[dict]) -> dict[str, int]:
    counts = {"acceptable": 0, "review": 0, "reimage": 0}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    return counts


def _group_entry(group: _Group, outlier: dict) -> dict:
    single = len(group.site_ids) == 1
    return {
        "key": group.key, "label": group.label, "kind": group.kind,
        "site_id": group.site_ids[0] if single else None,
        "site_name": group.site_names[group.site_ids[0]] if single else None,
        "site_ids": list(group.site_ids),
        "n_mosaics": len(group.rows),
        "whole": statistics.describe(r["percent_whole"] for r in group.rows),
        "lesion": statistics.describe(_lesion_values(group.rows)),
        "verdicts": _verdicts(group.rows),
        "outlier": outlier,
    }


@dataclass
class _Scope:
    sites: list[Site]  # the sites shown (the scope, or the one asked for)
    all_rows: list[dict]  # the whole scope's rows of the period (what outliers compare)
    rows: list[dict]  # the rows shown (after the site and technician filters)


def _scope(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> _Scope:
    scope_ids = qa_site_ids(user=user)
    shown_ids = {s for s in scope_ids if site_id is None or str(s) == str(site_id)}
    all_rows = _rows(mosaic_rows(user=user, date_from=date_from, date_to=date_to))
    rows = [r for r in all_rows if r["site_id"] in shown_ids
            and (technician_id is None or r["technician_key"] == str(technician_id))]
    return _Scope(sites=list(Site.objects.filter(id__in=shown_ids).order_by("name")), all_rows=all_rows, rows=rows)


def qa_summary(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> dict:
    """Per site and per technician: counts, describe() over the mosaic and within the lesion with
    the paper's bins, verdict counts and outlier evidence.

    Outlier evidence always compares within the user's whole QA scope for the period (all its
    sites, all their technicians), whatever site or technician the page narrows to: a site's
    evidence must not change because the page shows it alone. The groups and pool shown follow
    the filters."""
    scope = _scope(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    scope_sites = list(Site.objects.filter(id__in=qa_site_ids(user=user)).order_by("name"))
    site_outliers = _family_outliers(_site_groups(scope.all_rows, scope_sites), pool_label="at the other sites")
    technician_outliers = _family_outliers(
        _technician_groups(scope.all_rows, site_ids={s.id for s in scope_sites}),
        pool_label="for the other technicians")
    site_groups = _site_groups(scope.rows, scope.sites)
    if technician_id is not None:  # one technician: the sites where they imaged in the period
        site_groups = [g for g in site_groups if g.rows]
    technician_groups = _technician_groups(scope.rows, site_ids={s.id for s in scope.sites}, technician_id=technician_id)
    sites = [_group_entry(g, site_outliers[g.key]) for g in site_groups]
    technicians = [_group_entry(g, technician_outliers[g.key]) for g in technician_groups]
    flagged = [{"kind": entry["kind"], "key": entry["key"], "label": entry["label"], "measure": measure,
                "reason": entry["outlier"][measure]["reason"]}
               for entry in sites + technicians for measure in MEASURES if entry["outlier"][measure]["flagged"]]
    return {
        "period": {"date_from": date_from, "date_to": date_to},
        "bins": bin_definitions(),
        "thresholds_used": thresholds_used(sites=scope.sites),
        "pool": {"n": len(scope.rows), "whole": statistics.describe(r["percent_whole"] for r in scope.rows),
                 "lesion": statistics.describe(_lesion_values(scope.rows))},
        "sites": sites,
        "technicians": technicians,
        "flagged": flagged,
        "outlier_rule": statistics.OUTLIER_RULE + " Outliers compare within all the sites of your QA scope for "
                                                  "the period, whatever site or technician is selected.",
    }


def thresholds_used(*, sites: Iterable[Site]) -> dict[str, dict]:
    """Each site's current quality-gate thresholds (its policy, or the platform defaults)."""
    found = {}
    for site in sites:
        review, reimage = quality_thresholds(site_id=site.id)
        found[str(site.id)] = {"review_at_percent": review, "reimage_at_percent": reimage}
    return found


# --------------------------------------------------------------------------- trend


def _points(rows: list[dict], weeks: list[datetime.date]) -> list[dict]:
    by_week = defaultdict(list)
    for row in rows:
        by_week[week_start(row["visit_date"])].append(row)
    points = []
    for week in weeks:
        found = by_week.get(week, [])
        whole = statistics.describe(r["percent_whole"] for r in found)
        lesion = statistics.describe(_lesion_values(found))
        points.append({"week_start": week, "n": len(found), "mean_whole": whole["mean"],
                       "median_whole": whole["median"], "mean_lesion": lesion["mean"], "n_lesion": lesion["n"]})
    return points


def qa_trend(*, user: User, date_from, date_to, site_id=None, technician_id=None, group: str = "site") -> dict:
    """Weekly points (ISO weeks, Monday start, of the visit date) per site and/or per technician,
    every week of the period included, with no mosaics or not. group: site | technician | all."""
    scope = _scope(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    weeks = period_weeks(date_from=date_from, date_to=date_to)
    series = []
    if group in ("site", "all"):
        site_groups = _site_groups(scope.rows, scope.sites)
        if technician_id is not None:
            site_groups = [g for g in site_groups if g.rows]
        series += [{"key": g.key, "label": g.label, "kind": "site", "points": _points(g.rows, weeks)} for g in site_groups]
    if group in ("technician", "all"):
        series += [{"key": g.key, "label": g.label, "kind": "technician", "points": _points(g.rows, weeks)}
                   for g in _technician_groups(scope.rows, site_ids={s.id for s in scope.sites}, technician_id=technician_id)]
    return {"period": {"date_from": date_from, "date_to": date_to}, "weeks": weeks, "series": series,
            "pool": {"points": _points(scope.rows, weeks)}}


# --------------------------------------------------------------------------- recall


def qa_recall(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> dict:
    """Kose et al. 2020 Figure 2 over the period: recalls at 5, 10, 15 and 25% deciding on the
    whole mosaic vs the lesion, overall and per site."""
    scope = _scope(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    overall = statistics.recall_simulation((r["percent_whole"], r["percent_lesion"]) for r in scope.rows)
    sites = []
    for group in _site_groups(scope.rows, scope.sites):
        if technician_id is not None and not group.rows:
            continue
        found = statistics.recall_simulation((r["percent_whole"], r["percent_lesion"]) for r in group.rows)
        sites.append({"site_id": group.key, "site_name": group.label, "rows": found["rows"],
                      "n_without_lesion": found["n_without_lesion"]})
    return {"period": {"date_from": date_from, "date_to": date_to}, "thresholds": overall["thresholds"],
            "overall": overall["rows"], "n_without_lesion": overall["n_without_lesion"], "sites": sites}
