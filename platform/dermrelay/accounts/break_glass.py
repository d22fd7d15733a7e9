"""Emergency access ("break glass") for someone whose second factor is out of reach when a patient
needs them: time-limited, given with a reason, single-use, and loud. A site administrator (or the
platform's operator, `manage.py break_glass`) grants it and passes the code on by phone; the person
signs in with password and code; granting and using it notify every administrator and QA
administrator of the person's sites, the session ends when the grant does, and every audit event
of that session names the grant (dermrelay/audit/middleware.py)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from dermrelay.audit.services import audit_record
from dermrelay.notifications.models import NotificationKind
from dermrelay.notifications.services import notification_send

from .mfa import MfaRefused, code_normalised
from .models import BreakGlassGrant, Membership, Role, Site, User

MIN_MINUTES = 5
MIN_REASON_CHARS = 10
SESSION_KEY = "break_glass"  # the grant's id, in the session it started


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _tell_admins(*, user: User, grant: BreakGlassGrant, message: str, event: str) -> None:
    """Every site administrator and QA administrator of each site the person holds a role at."""
    site_ids = set(Membership.objects.filter(user=user, site__is_active=True).values_list("site_id", flat=True))
    for site_id in site_ids:
        admins = User.objects.filter(memberships__site_id=site_id, is_active=True,
                                     memberships__role__in=[Role.SITE_ADMIN, Role.QA_ADMIN]).exclude(pk=user.pk).distinct()
        notification_send(users=admins, site_id=site_id, kind=NotificationKind.EMERGENCY_ACCESS, message=message,
                          key=f"break-glass:{grant.id}:{event}")


def break_glass_grant(*, user: User, granted_by: User | None, site: Site | None, reason: str,
                      minutes: int) -> tuple[BreakGlassGrant, str]:
    """A single-use emergency code for `user`, valid for `minutes`; the code is returned once."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise MfaRefused("reason_required", f"Say why emergency access is needed (at least {MIN_REASON_CHARS} characters).")
    longest = settings.DERMRELAY_BREAK_GLASS_MAX_MINUTES
    if not MIN_MINUTES <= minutes <= longest:
        raise MfaRefused("minutes_out_of_range", f"Emergency access lasts {MIN_MINUTES} to {longest} minutes.")
    if granted_by is not None and granted_by.pk == user.pk:
        raise MfaRefused("own_grant", "Nobody may grant themselves emergency access: ask another administrator.")
    if not user.is_active:
        raise MfaRefused("inactive_user", "This account is deactivated.")
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits, typeable when read out
    code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            user=user, site=site, granted_by=granted_by, granted_by_username=granted_by.username if granted_by else "operator",
            reason=reason, digest=_digest(code_normalised(code)), expires_at=timezone.now() + datetime.timedelta(minutes=minutes))
        audit_record(actor=granted_by, action="break_glass_grant", object_type="user", object_id=user.id,
                     site_id=site.id if site else None,
                     detail={"grant": str(grant.id), "reason": reason, "minutes": minutes, "by": grant.granted_by_username})
        _tell_admins(user=user, grant=grant, event="granted", message=(
            f"Emergency access without a second factor was granted to {user} by {grant.granted_by_username} "
            f"until {grant.expires_at:%H:%M} UTC: {reason}"))
    return grant, code


def break_glass_use(*, user: User, code: str) -> BreakGlassGrant | None:
    """The live grant this code belongs to, now used up; None for a wrong, used, revoked or expired code."""
    digest = _digest(code_normalised(code))
    with transaction.atomic():
        for grant in BreakGlassGrant.objects.select_for_update().filter(
                user=user, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()):
            if hmac.compare_digest(grant.digest, digest):
                grant.used_at = timezone.now()
                grant.save(update_fields=["used_at"])
                audit_record(actor=user, action="break_glass_use", object_type="user", object_id=user.id,
                             site_id=grant.site_id, detail={"grant": str(grant.id), "reason": grant.reason,
                                                           "until": grant.expires_at.isoformat()})
                _tell_admins(user=user, grant=grant, event="used", message=(
                    f"{user} signed in with emergency access (no second factor) until {grant.expires_at:%H:%M} UTC; "
                    f"every action is recorded. Reason given: {grant.reason}"))
                return grant
    return None


def break_glass_revoke(*, grant: BreakGlassGrant, actor: User) -> BreakGlassGrant:
    """The code stops working, and a session it started ends at its next request."""
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="break_glass_revoke", object_type="user", object_id=grant.user_id,
                     site_id=grant.site_id, detail={"grant": str(grant.id)})
    return grant


def break_glass_session_grant(*, grant_id: str) -> BreakGlassGrant | None:
    """The grant a session was started with, while it still holds (not revoked, not expired)."""
    return BreakGlassGrant.objects.filter(pk=grant_id, revoked_at__isnull=True, expires_at__gt=timezone.now()).first()


def break_glass_list(*, site: Site) -> QuerySet[BreakGlassGrant]:
    """The grants for the site's staff (whoever granted them), newest first."""
    staff = Membership.objects.filter(site=site).values("user_id")
    return BreakGlassGrant.objects.filter(user_id__in=staff).select_related("user")
