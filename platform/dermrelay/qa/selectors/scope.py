"""Whose QA statistics a user may see (the sites where they are qa_admin or site_admin) and
the period and weeks the dashboards count in."""

from __future__ import annotations

import datetime

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import site_ids_for_user, site_roles

from .. import statistics


QA_ROLES = (Role.QA_ADMIN, Role.SITE_ADMIN)
DEFAULT_PERIOD_DAYS = 90


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
