"""Device tokens: issued to a named device after a password check, found by their key's prefix,
checked against the stored digest, refused once expired or revoked.

A key is 'drt_' + 8 prefix characters + 43 random ones (256 bits in all): far too many to guess,
so a plain SHA-256 digest (not a slow password hash) is enough to make a stolen copy of the
database useless for signing in, and each request costs one indexed lookup.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from dermrelay.audit.services import audit_record

from .models import DeviceToken, User

KEY_PREFIX = "drt_"
PREFIX_CHARS = 8
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)  # last_used_at is written at most this often


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def device_token_issue(*, user: User, name: str, second_factor: str = "") -> tuple[DeviceToken, str]:
    """A new token for one device; the key is returned once and never stored. `second_factor`: how
    the owner proved one when asking ('totp', 'recovery_code'), blank when none was asked."""
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    key = f"{KEY_PREFIX}{prefix}{secrets.token_urlsafe(32)}"
    token = DeviceToken.objects.create(
        user=user, name=name.strip() or "unnamed device", prefix=prefix, digest=_digest(key), second_factor=second_factor,
        expires_at=timezone.now() + datetime.timedelta(days=settings.DERMRELAY_DEVICE_TOKEN_DAYS))
    audit_record(actor=user, action="token_issue", object_type="device_token", object_id=token.id,
                 detail={"name": token.name, "prefix": prefix, "expires_at": token.expires_at.isoformat(),
                         "second_factor": second_factor})
    return token, key


def device_token_for_key(*, key: str) -> DeviceToken | None:
    """The live token this key belongs to, or None (unknown, wrong, expired, revoked, inactive user)."""
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + PREFIX_CHARS + 1:
        return None
    prefix = key[len(KEY_PREFIX):len(KEY_PREFIX) + PREFIX_CHARS]
    token = DeviceToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(key)):
        return None
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def device_token_revoke(*, token: DeviceToken, actor: User, reason: str) -> DeviceToken:
    """Revoked at once and for good; revoking a revoked token changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token_revoke", object_type="device_token", object_id=token.id,
                     detail={"name": token.name, "prefix": token.prefix, "reason": reason})
    return token


def device_token_list(*, user: User) -> QuerySet[DeviceToken]:
    """The user's own tokens, newest first (revoked and expired ones included, for the record)."""
    return DeviceToken.objects.filter(user=user)
