"""Derived imaging data: how each stored image is made viewable, and the job that does it."""

from __future__ import annotations

from django.db import models

from dermrelay.cases.models import Image
from dermrelay.jobs.models import Job


class DeviceProfile(models.Model):
    """Where a capture device puts the image inside the files it exports.

    RCM devices export single fields of view with a burned-in caption strip (file name, depth)
    below the image; the crop keeps the caption from ever reaching the viewer. A profile matches
    an uploaded RCM image by its exact width and a height range, unless the upload names one.
    """

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    source_width = models.PositiveIntegerField()
    source_min_height = models.PositiveIntegerField()
    source_max_height = models.PositiveIntegerField()
    crop_x = models.PositiveIntegerField(default=0)
    crop_y = models.PositiveIntegerField(default=0)
    crop_width = models.PositiveIntegerField()
    crop_height = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def matches(self, width: int, height: int) -> bool:
        return self.is_active and width == self.source_width and self.source_min_height <= height <= self.source_max_height


class DerivationJob(Job):
    """Make an image viewable: display window, caption crop, deep-zoom pyramid(s), thumbnail."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="derivation")

    task_name = "dermrelay.pipeline.tasks.derive"  # chains the next step (pipeline)
    queue = "ingest"

    def __str__(self) -> str:
        return f"Derivation of {self.image_id} ({self.state})"


class Pyramid(models.Model):
    """A Deep Zoom pyramid per frame of an image, in storage under `prefix`/f<frame>/.

    Width and height are those of the viewable area (after a caption crop). For images with more
    than 8 bits, the display window maps [window_low, window_high] linearly onto 0..255.
    """

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="pyramid")
    prefix = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frames = models.PositiveIntegerField(default=1)
    tile_size = models.PositiveIntegerField(default=254)
    overlap = models.PositiveIntegerField(default=1)
    tile_format = models.CharField(max_length=8, default="jpeg")
    window_low = models.FloatField(null=True, blank=True)
    window_high = models.FloatField(null=True, blank=True)
    device_profile = models.ForeignKey(DeviceProfile, on_delete=models.PROTECT, null=True, blank=True)
    crop = models.JSONField(null=True, blank=True, help_text="[x, y, width, height] in source pixels")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Pyramid of {self.image_id} ({self.width}x{self.height}, {self.frames} frame(s))"

    @property
    def max_level(self) -> int:
        """Deep Zoom's top level: ceil(log2(longest side)); level 0 is one pixel."""
        return (max(self.width, self.height) - 1).bit_length()


class RegistrationSource(models.TextChoices):
    """Who says where the dermoscopy lies on the mosaic: the device, a person, or a proposal a person accepted."""

    DEVICE = "device", "Given by the capture device"
    LANDMARKS = "landmarks", "Fitted to landmark pairs a person placed"
    PLACED = "placed", "Placed by a person (the mosaic's field moved, turned and scaled on the dermoscopy)"
    AUTOMATIC = "automatic", "Proposed automatically and accepted by a person"


class Registration(models.Model):
    """Where the case's dermoscopy image lies on one mosaic: `matrix` maps dermoscopy pixels
    (x, y, 1) to mosaic pixels (of the viewable mosaic, after any caption crop)."""

    mosaic = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="registration")
    dermoscopy = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="registered_mosaics")
    matrix = models.JSONField()
    source = models.CharField(max_length=12, choices=RegistrationSource.choices)
    landmarks = models.JSONField(null=True, blank=True, help_text="[{dermoscopy: [x, y], mosaic: [x, y]}, ...]")
    rms_error_px = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Registration {self.dermoscopy_id} → {self.mosaic_id} ({self.source})"
