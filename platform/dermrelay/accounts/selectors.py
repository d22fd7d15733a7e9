"""Reads about users and sites, always scoped to what the requesting user may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import CLINICAL_ROLES, Membership, Role, Site, User


def site_ids_for_user(*, user: User, roles: Iterable[str]) -> set:
    """Ids of the active sites where the user holds one of the roles; empty for anonymous users."""
    if not user.is_authenticated or not user.is_active:
        return set()
    return set(
        Membership.objects.filter(user=user, role__in=list(roles), site__is_active=True).values_list(
            "site_id", flat=True
        )
    )


def clinical_site_ids(*, user: User) -> set:
    """Sites whose patient data the user may read and change (technicians and site admins)."""
    return site_ids_for_user(user=user, roles=CLINICAL_ROLES)


def site_list(*, user: User) -> QuerySet[Site]:
    """Every site the user holds any role at."""
    return Site.objects.filter(id__in=site_ids_for_user(user=user, roles=Role.values))


def site_roles(*, user: User) -> dict[str, list[str]]:
    """site id → the user's roles there, for the browser app to decide what to show."""
    roles: dict[str, list[str]] = {}
    if not user.is_authenticated:
        return roles
    for site_id, role in Membership.objects.filter(user=user, site__is_active=True).values_list("site_id", "role"):
        roles.setdefault(str(site_id), []).append(role)
    return roles


def site_technicians(*, site: Site) -> QuerySet[User]:
    return User.objects.filter(memberships__site=site, memberships__role=Role.TECHNICIAN, is_active=True)


def site_readers(*, site: Site) -> QuerySet[User]:
    """The site's active readers: whom a site administrator may give the site's cases to."""
    return User.objects.filter(memberships__site=site, memberships__role=Role.READER, is_active=True)
