"""The second factor: an authenticator app (TOTP, RFC 6238) and single-use recovery codes, kept as
django-otp devices (its throttling doubles the wait after each wrong code, and a TOTP code is
refused a second time). Which roles must use it is each site's policy (Site.mfa_required_roles):
someone holding such a role at any active site signs in with a code, or sets an authenticator up
before their first session starts (accounts/api/sign_in.py)."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass

import segno
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dermrelay.audit.services import audit_record

from .models import DeviceToken, Membership, Role, Site, User

RECOVERY_CODES = 10
RECOVERY_DEVICE_NAME = "recovery codes"
AUTHENTICATOR_NAME = "authenticator"


class MfaRefused(Exception):
    """A change to a second factor the policy or the request does not allow; `code` says which."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def mfa_required_sites(*, user: User) -> list[Site]:
    """The active sites whose policy asks this user for a second factor (any role of theirs there)."""
    sites: dict = {}
    for membership in Membership.objects.filter(user=user, site__is_active=True).select_related("site"):
        if membership.role in (membership.site.mfa_required_roles or []):
            sites[membership.site_id] = membership.site
    return list(sites.values())


def mfa_required(*, user: User) -> bool:
    return bool(mfa_required_sites(user=user))


def authenticator_of(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def mfa_enrolled(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class CodeCheck:
    method: str | None  # "totp" or "recovery_code" when the code was right
    wait_seconds: int = 0  # > 0: too many wrong codes lately; nothing was checked


def code_normalised(code: str) -> str:
    """A code as typed (spaces, dashes, either case) in the one form it is checked in."""
    return "".join(code.split()).replace("-", "").lower()


def mfa_check_code(*, user: User, code: str) -> CodeCheck:
    """Whether `code` is the authenticator's current code (six digits) or one of the unused recovery
    codes; a right recovery code is used up. Wrong codes make the device wait (django-otp)."""
    code = code_normalised(code)
    if code.isdigit() and len(code) == 6:
        device, method = authenticator_of(user=user), "totp"
    else:
        device, method = StaticDevice.objects.filter(user=user, confirmed=True).first(), "recovery_code"
    if device is None:
        return CodeCheck(None)
    allowed, data = device.verify_is_allowed()
    if not allowed:
        locked_until = (data or {}).get("locked_until") or timezone.now()
        return CodeCheck(None, wait_seconds=max(1, int((locked_until - timezone.now()).total_seconds()) + 1))
    with transaction.atomic():
        return CodeCheck(method if device.verify_token(code) else None)


def authenticator_begin(*, user: User) -> TOTPDevice:
    """A new, not yet confirmed authenticator for the user to scan; an earlier unconfirmed one goes."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def authenticator_setup(*, device: TOTPDevice) -> dict:
    """What the person needs to add the authenticator: the otpauth:// URI as a QR code, and its
    secret to type in when the phone cannot scan."""
    secret = base64.b32encode(device.bin_key).decode()
    svg = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    return {"secret": secret, "otpauth_uri": device.config_url, "qr_code": svg}


def authenticator_confirm(*, user: User, code: str) -> list[str] | None:
    """The pending authenticator becomes the user's (replacing an earlier one) once the person types
    a code it shows; new recovery codes come with it. None: no pending authenticator or a wrong code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        return None
    with transaction.atomic():
        if not device.verify_token(code_normalised(code)):
            return None
        replaced = TOTPDevice.objects.filter(user=user, confirmed=True).delete()[0]
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_replace(user=user)
        audit_record(actor=user, action="mfa_enrol", object_type="user", object_id=user.id,
                     detail={"method": "totp", "replaced": bool(replaced), "recovery_codes": len(codes)})
    return codes


def _recovery_codes_replace(*, user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [base64.b32encode(secrets.token_bytes(5)).decode().lower() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_issue(*, user: User) -> list[str]:
    """A fresh set of recovery codes; the earlier ones stop working."""
    with transaction.atomic():
        codes = _recovery_codes_replace(user=user)
        audit_record(actor=user, action="mfa_recovery_codes", object_type="user", object_id=user.id,
                     detail={"recovery_codes": len(codes)})
    return codes


def mfa_remove(*, user: User) -> None:
    """The user's authenticator and recovery codes go; refused while a site's policy requires them."""
    required = mfa_required_sites(user=user)
    if required:
        raise MfaRefused("mfa_required_by_policy", "Your role at " + ", ".join(site.name for site in required)
                         + " requires a second factor: replace the authenticator instead of removing it.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record(actor=user, action="mfa_remove", object_type="user", object_id=user.id)


def mfa_policy_set(*, actor: User, site: Site, roles: list[str]) -> Site:
    """Which of the site's roles must sign in with a second factor. Whoever the change newly
    requires it of is signed out everywhere (their sessions end; device tokens issued without a
    second factor are revoked), so no session or token started without it outlives the policy."""
    roles = sorted(set(roles))
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise MfaRefused("unknown_role", f"Unknown roles: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site.pk)
        before = sorted(site.mfa_required_roles or [])
        newly = set(roles) - set(before)
        affected = set(Membership.objects.filter(site=site, role__in=newly).values_list("user_id", flat=True))
        affected -= {user_id for user_id in affected if _required_elsewhere(user_id=user_id, site=site)}
        site.mfa_required_roles = roles
        site.save(update_fields=["mfa_required_roles"])
        for user_id in affected:  # one stamp each: a shared one would let a session move between users' hashes
            User.objects.filter(pk=user_id).update(security_stamp=uuid.uuid4())
        revoked = DeviceToken.objects.filter(user_id__in=affected, revoked_at__isnull=True, second_factor="").update(
            revoked_at=timezone.now())
        audit_record(actor=actor, action="update_security_policy", object_type="site", object_id=site.id, site_id=site.id,
                     detail={"mfa_required_roles": {"before": before, "after": roles},
                             "signed_out_users": sorted(affected), "revoked_device_tokens": revoked})
    return site


def _required_elsewhere(*, user_id: int, site: Site) -> bool:
    user = User(pk=user_id)
    return any(other.pk != site.pk for other in mfa_required_sites(user=user))


def site_staff_mfa(*, site: Site) -> list[dict]:
    """The site's staff with their roles there and whether each has an authenticator: for the site's
    administrators to see who still has to set one up."""
    enrolled = set(TOTPDevice.objects.filter(confirmed=True, user__memberships__site=site).values_list("user_id", flat=True))
    staff: dict[int, dict] = {}
    for membership in Membership.objects.filter(site=site, user__is_active=True).select_related("user").order_by(
            "user__last_name", "user__first_name", "user__username"):
        person = staff.setdefault(membership.user_id, {
            "id": membership.user_id, "username": membership.user.username,
            "full_name": membership.user.get_full_name() or membership.user.username,
            "roles": [], "mfa_enrolled": membership.user_id in enrolled})
        person["roles"].append(membership.role)
    required = set(site.mfa_required_roles or [])
    for person in staff.values():
        person["mfa_required_here"] = bool(required & set(person["roles"]))
    return list(staff.values())
