"""The judged rows of a period grouped by site and by technician, what each group shows, and
the outlier evidence of a family of groups (qa.statistics.outliers)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.gate.models import MosaicQuality

from .. import statistics
from .mosaics import UNASSIGNED, mosaic_rows
from .scope import qa_site_ids


UNASSIGNED_LABEL = "Unassigned technician"

# What one row of the aggregations reads (no patient field among them).
ROW_FIELDS = {
    "image": "image_id", "case": "image__case_id", "site_id": "image__case__site_id",
    "site_name": "image__case__site__name", "technician_id": "image__case__technician_id",
    "technician_username": "image__case__technician__username",
    "technician_first": "image__case__technician__first_name", "technician_last": "image__case__technician__last_name",
    "visit_date": "image__case__visit_date", "percent_whole": "percent_whole", "percent_lesion": "percent_lesion",
    "verdict": "verdict",
}


def technician_label(first: str | None, last: str | None, username: str | None) -> str:
    if username is None:
        return UNASSIGNED_LABEL
    return f"{first or ''} {last or ''}".strip() or username


def judged_rows(queryset: QuerySet[MosaicQuality]) -> list[dict]:
    found = []
    for values in queryset.values(*ROW_FIELDS.values()).order_by("image__case__visit_date", "image_id"):
        row = {name: values[source] for name, source in ROW_FIELDS.items()}
        row["technician_key"] = str(row["technician_id"]) if row["technician_id"] is not None else UNASSIGNED
        row["technician_name"] = technician_label(row.pop("technician_first"), row.pop("technician_last"),
                                                  row.pop("technician_username"))
        found.append(row)
    return found


@dataclass
class Group:
    kind: str  # site | technician
    key: str
    label: str
    rows: list[dict]
    site_ids: list  # the sites its rows (or memberships) are at
    site_names: dict


def groups_by_site(rows: list[dict], sites: list[Site]) -> list[Group]:
    by_site = defaultdict(list)
    for row in rows:
        by_site[str(row["site_id"])].append(row)
    return [Group("site", str(site.id), site.name, by_site.get(str(site.id), []), [site.id], {site.id: site.name})
            for site in sites]


def groups_by_technician(rows: list[dict], *, site_ids: set, technician_id=None) -> list[Group]:
    """Technicians with mosaics in the rows, plus the technicians of the sites in scope who have
    none (shown with n = 0); cases without a technician make one 'Unassigned technician' group."""
    groups: dict[str, Group] = {}
    for row in rows:
        group = groups.get(row["technician_key"])
        if group is None:
            group = groups[row["technician_key"]] = Group("technician", row["technician_key"], row["technician_name"],
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
            group = groups[key] = Group("technician", key, technician_label(user.first_name, user.last_name,
                                                                             user.username), [], [], {})
        if not group.rows and membership.site_id not in group.site_names:
            group.site_ids.append(membership.site_id)
            group.site_names[membership.site_id] = membership.site.name
    return sorted(groups.values(), key=lambda g: (g.key == UNASSIGNED, g.label.lower(), g.key))


def lesion_values(rows: list[dict]) -> list[float]:
    return [row["percent_lesion"] for row in rows if row["percent_lesion"] is not None]


def family_outliers(groups: list[Group], *, pool_label: str) -> dict[str, dict]:
    """key → {whole: evidence, lesion: evidence, flagged} for one family (see statistics)."""
    whole = statistics.outliers([(g.key, g.label, [r["percent_whole"] for r in g.rows]) for g in groups],
                                measure="whole", pool_label=pool_label)
    lesion = statistics.outliers([(g.key, g.label, lesion_values(g.rows)) for g in groups],
                                 measure="lesion", pool_label=pool_label)
    return {g.key: {"whole": whole[g.key], "lesion": lesion[g.key],
                    "flagged": whole[g.key]["flagged"] or lesion[g.key]["flagged"]} for g in groups}


def verdict_counts(rows: list[dict]) -> dict[str, int]:
    counts = {"acceptable": 0, "review": 0, "reimage": 0}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    return counts


def group_entry(group: Group, outlier: dict) -> dict:
    single = len(group.site_ids) == 1
    return {
        "key": group.key, "label": group.label, "kind": group.kind,
        "site_id": group.site_ids[0] if single else None,
        "site_name": group.site_names[group.site_ids[0]] if single else None,
        "site_ids": list(group.site_ids),
        "n_mosaics": len(group.rows),
        "whole": statistics.describe(r["percent_whole"] for r in group.rows),
        "lesion": statistics.describe(lesion_values(group.rows)),
        "verdicts": verdict_counts(group.rows),
        "outlier": outlier,
    }


@dataclass
class ScopedRows:
    sites: list[Site]  # the sites shown (the scope, or the one asked for)
    all_rows: list[dict]  # the whole scope's rows of the period (what outliers compare)
    rows: list[dict]  # the rows shown (after the site and technician filters)


def scoped_rows(*, user: User, date_from, date_to, site_id=None, technician_id=None) -> ScopedRows:
    scope_ids = qa_site_ids(user=user)
    shown_ids = {s for s in scope_ids if site_id is None or str(s) == str(site_id)}
    all_rows = judged_rows(mosaic_rows(user=user, date_from=date_from, date_to=date_to))
    rows = [r for r in all_rows if r["site_id"] in shown_ids
            and (technician_id is None or r["technician_key"] == str(technician_id))]
    return ScopedRows(sites=list(Site.objects.filter(id__in=shown_ids).order_by("name")), all_rows=all_rows, rows=rows)
