"""The dashboards' answers: the summary per site and technician with outlier evidence, the
weekly trend, and the recall simulation (Kose et al. 2020, Figure 2)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from dermrelay.accounts.models import Site, User
from dermrelay.gate.selectors import quality_thresholds

from .. import statistics
from .groups import family_outliers, group_entry, groups_by_site, groups_by_technician, lesion_values, scoped_rows
from .mosaics import MEASURES
from .scope import bin_definitions, period_weeks, qa_site_ids, week_start


def qa_summary(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> dict:
    """Per site and per technician: counts, describe() over the mosaic and within the lesion with
    the paper's bins, verdict counts and outlier evidence.

    Outlier evidence always compares within the user's whole QA scope for the period (all its
    sites, all their technicians), whatever site or technician the page narrows to: a site's
    evidence must not change because the page shows it alone. The groups and pool shown follow
    the filters."""
    scope = scoped_rows(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    scope_sites = list(Site.objects.filter(id__in=qa_site_ids(user=user)).order_by("name"))
    site_outliers = family_outliers(groups_by_site(scope.all_rows, scope_sites), pool_label="at the other sites")
    technician_outliers = family_outliers(
        groups_by_technician(scope.all_rows, site_ids={s.id for s in scope_sites}),
        pool_label="for the other technicians")
    site_groups = groups_by_site(scope.rows, scope.sites)
    if technician_id is not None:  # one technician: the sites where they imaged in the period
        site_groups = [g for g in site_groups if g.rows]
    technician_groups = groups_by_technician(scope.rows, site_ids={s.id for s in scope.sites}, technician_id=technician_id)
    sites = [group_entry(g, site_outliers[g.key]) for g in site_groups]
    technicians = [group_entry(g, technician_outliers[g.key]) for g in technician_groups]
    flagged = [{"kind": entry["kind"], "key": entry["key"], "label": entry["label"], "measure": measure,
                "reason": entry["outlier"][measure]["reason"]}
               for entry in sites + technicians for measure in MEASURES if entry["outlier"][measure]["flagged"]]
    return {
        "period": {"date_from": date_from, "date_to": date_to},
        "bins": bin_definitions(),
        "thresholds_used": thresholds_used(sites=scope.sites),
        "pool": {"n": len(scope.rows), "whole": statistics.describe(r["percent_whole"] for r in scope.rows),
                 "lesion": statistics.describe(lesion_values(scope.rows))},
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


def _points(rows: list[dict], weeks: list[datetime.date]) -> list[dict]:
    by_week = defaultdict(list)
    for row in rows:
        by_week[week_start(row["visit_date"])].append(row)
    points = []
    for week in weeks:
        found = by_week.get(week, [])
        whole = statistics.describe(r["percent_whole"] for r in found)
        lesion = statistics.describe(lesion_values(found))
        points.append({"week_start": week, "n": len(found), "mean_whole": whole["mean"],
                       "median_whole": whole["median"], "mean_lesion": lesion["mean"], "n_lesion": lesion["n"]})
    return points


def qa_trend(*, user: User, date_from, date_to, site_id=None, technician_id=None, group: str = "site") -> dict:
    """Weekly points (ISO weeks, Monday start, of the visit date) per site and/or per technician,
    every week of the period included, with no mosaics or not. group: site | technician | all."""
    scope = scoped_rows(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    weeks = period_weeks(date_from=date_from, date_to=date_to)
    series = []
    if group in ("site", "all"):
        site_groups = groups_by_site(scope.rows, scope.sites)
        if technician_id is not None:
            site_groups = [g for g in site_groups if g.rows]
        series += [{"key": g.key, "label": g.label, "kind": "site", "points": _points(g.rows, weeks)} for g in site_groups]
    if group in ("technician", "all"):
        series += [{"key": g.key, "label": g.label, "kind": "technician", "points": _points(g.rows, weeks)}
                   for g in groups_by_technician(scope.rows, site_ids={s.id for s in scope.sites}, technician_id=technician_id)]
    return {"period": {"date_from": date_from, "date_to": date_to}, "weeks": weeks, "series": series,
            "pool": {"points": _points(scope.rows, weeks)}}


def qa_recall(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> dict:
    """Kose et al. 2020 Figure 2 over the period: recalls at 5, 10, 15 and 25% deciding on the
    whole mosaic vs the lesion, overall and per site."""
    scope = scoped_rows(user=user, date_from=date_from, date_to=date_to, site_id=site_id, technician_id=technician_id)
    overall = statistics.recall_simulation((r["percent_whole"], r["percent_lesion"]) for r in scope.rows)
    sites = []
    for group in groups_by_site(scope.rows, scope.sites):
        if technician_id is not None and not group.rows:
            continue
        found = statistics.recall_simulation((r["percent_whole"], r["percent_lesion"]) for r in group.rows)
        sites.append({"site_id": group.key, "site_name": group.label, "rows": found["rows"],
                      "n_without_lesion": found["n_without_lesion"]})
    return {"period": {"date_from": date_from, "date_to": date_to}, "thresholds": overall["thresholds"],
            "overall": overall["rows"], "n_without_lesion": overall["n_without_lesion"], "sites": sites}
