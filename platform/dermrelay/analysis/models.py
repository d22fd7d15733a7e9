"""Model versions known to the platform, mirrored from the inference registry's cards."""

from __future__ import annotations

from django.db import models


class ModelStatus(models.TextChoices):
    READY = "ready", "Ready"
    ERROR = "error", "Error"


class ModelVersion(models.Model):
    """One card of the registry. `status` says whether its weights were found and matched their
    SHA-256 at the last sync; an admin sees the reason when they did not."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=40)
    task = models.CharField(max_length=200)
    modality = models.CharField(max_length=40)
    card = models.JSONField()
    weights_sha256 = models.CharField(max_length=64)
    is_active = models.BooleanField(default=False, help_text="The version analysis plans use for this model name.")
    status = models.CharField(max_length=8, choices=ModelStatus.choices, default=ModelStatus.READY)
    status_detail = models.TextField(blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version", "weights_sha256"], name="model_version_unique"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(is_active=True), name="one_active_version_per_model"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"
