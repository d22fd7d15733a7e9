"""Model versions known to the platform, mirrored from the inference registry's cards."""

from __future__ import annotations

import uuid

from django.db import models

from dermrelay.cases.models import Image
from dermrelay.jobs.models import Job


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


class AnalysisRun(Job):
    """One model run on one image's bytes: unique per (image, model version, input SHA-256), so a
    repeated request never runs a model twice on the same input. Numbers are fields; masks and
    overlays are files under `output_prefix`; the model's identity is its ModelVersion row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="analysis_runs")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="runs")
    input_sha256 = models.CharField(max_length=64)
    step = models.CharField(max_length=40, help_text="The analysis-plan step that runs the model, e.g. 'quality'.")
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text="Empty when the analysis plan started it.")
    percent_uninformative = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    output_prefix = models.CharField(max_length=255, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="seconds per stage")

    task_name = "dermrelay.pipeline.tasks.analysis_run"  # chains the next step (pipeline)
    queue = "inference"

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["image", "model_version", "input_sha256"],
                                               name="analysis_run_unique_input")]

    def __str__(self) -> str:
        return f"{self.step} run of {self.image_id} ({self.state})"


class OverlayKind(models.TextChoices):
    QUALITY = "quality", "Uninformative areas (model)"
    PROJECTION = "projection", "Uninformative areas of a mosaic, on the dermoscopy image"
    AGREEMENT = "agreement", "Model vs expert agreement"
    BODY_REGION = "body_region", "Body-region map (model)"


class Overlay(models.Model):
    """A colour-coded overlay pyramid over `image` (see imaging.overlays), made from `source_image`'s
    quality run (the mosaic itself, or for a projection the mosaic projected onto the dermoscopy)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="overlays")
    source_image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=OverlayKind.choices)
    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="overlays")
    prefix = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    level_offset = models.PositiveSmallIntegerField()
    legend = models.JSONField(default=list)
    inputs_key = models.CharField(max_length=64, blank=True, help_text="hash of what it was drawn from; unchanged inputs are not drawn again")
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "created_at"]
        constraints = [models.UniqueConstraint(fields=["image", "source_image", "kind"], name="one_overlay_per_kind")]
