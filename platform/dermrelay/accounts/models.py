"""Sites (clinics), users and their roles at each site."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    TECHNICIAN = "technician", "Technician"
    SITE_ADMIN = "site_admin", "Site administrator"
    READER = "reader", "Reader"
    QA_ADMIN = "qa_admin", "Quality administrator"


# Roles that capture and manage a site's patients, cases and images.
CLINICAL_ROLES = frozenset({Role.TECHNICIAN, Role.SITE_ADMIN})


class Site(models.Model):
    """A clinic. Every patient belongs to exactly one site; it is the unit of tenancy."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=40, unique=True, help_text="Short stable identifier, e.g. 'northside'.")
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: technician, site admin, reader or QA admin (through memberships)."""

    id = models.BigAutoField(primary_key=True)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user_id}"


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
