"""Sites (clinics), users and their roles at each site."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac


class Role(models.TextChoices):
    TECHNICIAN = "technician", "Technician"
    SITE_ADMIN = "site_admin", "Site administrator"
    READER = "reader", "Reader"
    QA_ADMIN = "qa_admin", "Quality administrator"


# Roles that capture and manage a site's patients, cases and images.
CLINICAL_ROLES = frozenset({Role.TECHNICIAN, Role.SITE_ADMIN})


def mfa_roles_default() -> list[str]:
    """A new site asks a second factor of everyone who reads or manages patient data remotely or for
    the whole site; technicians at the capture device may be added by the site's administrator."""
    return [Role.READER.value, Role.SITE_ADMIN.value, Role.QA_ADMIN.value]


class Site(models.Model):
    """A clinic. Every patient belongs to exactly one site; it is the unit of tenancy."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=40, unique=True, help_text="Short stable identifier, e.g. 'northside'.")
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    mfa_required_roles = models.JSONField(default=mfa_roles_default, blank=True, help_text=(
        "Roles whose holders must sign in with a second factor (accounts/mfa.py); set by the site's administrators."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: technician, site admin, reader or QA admin (through memberships)."""

    id = models.BigAutoField(primary_key=True)
    security_stamp = models.UUIDField(default=uuid.uuid4, help_text=(
        "Changed to end every session of the user at once (a site turned MFA on for their role)."))

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret=None):
        """Django ends a session whose stored hash no longer matches: a new password ends them all,
        as in Django, and so does a new security stamp."""
        return salted_hmac("dermrelay.accounts.User.session", f"{self.password}:{self.security_stamp}",
                           secret=secret, algorithm="sha256").hexdigest()


class Membership(models.Model):
    """What a user may do at one site. A user may hold several roles at several sites."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="membership_unique_role_per_site")
        ]
        ordering = ["site__name", "user__username", "role"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.site}"


class DeviceToken(models.Model):
    """A capture device's credential: `Authorization: Token <key>`. Each device gets its own, named
    by the person who set it up, with a lifetime; it can be revoked alone, and signing the device
    out revokes it. Only a digest of the key is stored (accounts/device_tokens.py): a copy of the
    database holds no usable key. The key's first characters (`prefix`) find the row and let the
    owner tell their tokens apart."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_tokens")
    name = models.CharField(max_length=100, help_text="What the device is, as its owner named it.")
    prefix = models.CharField(max_length=12, unique=True, help_text="The key's first characters, shown to its owner.")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the whole key; the key itself is never stored.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    second_factor = models.CharField(max_length=20, blank=True, help_text=(
        "How the owner proved a second factor when the token was issued ('totp', 'recovery_code'), or blank."))

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user_id}"


class BreakGlassGrant(models.Model):
    """Emergency access for someone who cannot give their second factor (a lost phone on call): a
    site administrator (or the platform's operator) grants it with a reason; it is a single-use
    code that signs the person in with their password for a short while. Granting and using it
    notify the site's administrators and QA administrators, and every audit event of that session
    names the grant (accounts/break_glass.py). Only a digest of the code is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="break_glass_grants")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                             help_text="the site whose administrator granted it; empty when the platform's operator did")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    granted_by_username = models.CharField(max_length=150, blank=True)
    reason = models.TextField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="the code works until then, and the session it starts ends then")
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"emergency access for {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class IdempotencyKey(models.Model):
    """A create request a client may send again (`Idempotency-Key` header): the first one made
    `object_id`; a repeat within a day answers with that object instead of making a second one.
    Holds a digest of the request body, never the body (no patient data is copied here)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    operation = models.CharField(max_length=120, help_text="method and path, e.g. 'POST /api/v1/cases/'")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body as parsed")
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]
        indexes = [models.Index(fields=["user", "created_at"], name="idempotency_user_created_idx")]
