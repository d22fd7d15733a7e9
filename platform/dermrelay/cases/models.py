"""Patients, lesions, cases (visits) and their images."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

from dermrelay.accounts.models import Site

from .vocabulary import ANATOM_SITE_GENERAL_CHOICES, validate_anatom_site


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Patient(models.Model):
    """A patient of one site. Name, birth date and MRN are PHI: they never leave the API or logs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("medical record number", max_length=64)
    given_name = models.CharField(max_length=120)
    family_name = models.CharField(max_length=120)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [models.UniqueConstraint(fields=["site", "mrn"], name="patient_unique_mrn_per_site")]

    def __str__(self) -> str:
        return f"Patient {self.id}"  # no PHI in logs and reprs

    def age_on(self, day: datetime.date) -> int | None:
        """Whole years of age on `day` (a reader is told the age at the visit, never the birth date);
        None when the birth date is not recorded or lies after the day."""
        if self.birth_date is None or self.birth_date > day:
            return None
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class Lesion(models.Model):
    """A skin lesion followed over visits; its location uses the ISIC anatom_site vocabulary."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lesions")
    label = models.CharField(max_length=80, blank=True, help_text="How the clinic refers to it, e.g. 'L1'.")
    anatom_site_general = models.CharField(max_length=40, choices=ANATOM_SITE_GENERAL_CHOICES, blank=True)
    anatom_site = models.CharField(
        max_length=120, blank=True, validators=[validate_anatom_site], help_text="ISIC hierarchical term."
    )
    location_note = models.CharField(max_length=300, blank=True, help_text="Free text, e.g. '3 cm above the navel'.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Lesion {self.label or self.id}"


class CaseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PROCESSING = "processing", "Processing"
    READY_FOR_READING = "ready_for_reading", "Ready for reading"
    IN_READING = "in_reading", "In reading"
    SIGNED = "signed", "Signed"
    RECALL_REQUESTED = "recall_requested", "Recall requested"
    AMENDED = "amended", "Amended"


# The device recorded on synthetic QA-history cases (qa.seeding writes them for the QA dashboards):
# the one marker by which the clinic's case list tells them from real visits (cases.selectors).
SYNTHETIC_QA_HISTORY_DEVICE = "QA history (synthetic)"


class Case(models.Model):
    """One visit's imaging of one lesion. Its status only changes through cases.services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="cases")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cases", editable=False)
    visit_date = models.DateField()
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="cases_imaged"
    )
    device = models.CharField(max_length=120, blank=True, help_text="Capture device, e.g. 'VivaScope 1500'.")
    clinical_note = models.TextField(blank=True)
    clinical_question = models.CharField(
        max_length=500, blank=True,
        help_text="What the clinic asks the reader, e.g. 'melanoma? please assess the junction'; printed on the report.",
    )
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.DRAFT, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-visit_date", "-created_at"]
        indexes = [models.Index(fields=["site", "status"], name="case_site_status_idx")]

    def __str__(self) -> str:
        return f"Case {self.id} ({self.status})"


class ImageKind(models.TextChoices):
    RCM_MOSAIC = "rcm_mosaic", "RCM mosaic"
    RCM_STACK = "rcm_stack", "RCM stack"
    DERMOSCOPY = "dermoscopy", "Dermoscopy"
    CLINICAL = "clinical", "Clinical photo"


RCM_KINDS = frozenset({ImageKind.RCM_MOSAIC, ImageKind.RCM_STACK})


class DepthLevel(models.TextChoices):
    STRATUM_GRANULOSUM = "stratum_granulosum", "Stratum granulosum"
    SPINOSUM = "spinosum", "Suprabasal / stratum spinosum"
    DEJ = "dej", "Dermal-epidermal junction"
    PAPILLARY_DERMIS = "papillary_dermis", "Papillary dermis"
    OTHER = "other", "Other"


class ImageStatus(models.TextChoices):
    STORED = "stored", "Stored"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ImageFormat(models.TextChoices):
    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"
    TIFF = "tiff", "TIFF"
    BMP = "bmp", "BMP"


class ImageQuerySet(models.QuerySet):
    def current(self) -> "ImageQuerySet":
        """The images that stand for the case now: not replaced by a later capture."""
        return self.filter(replaced_by__isnull=True)


class Image(models.Model):
    """One stored, verified image file of a case. A row exists only for a file proven whole.

    A re-captured image replaces an earlier one of the same case and kind: the earlier one stays, with
    its analyses, judgement and overlays, as history (`replaced_by`, `replaced_at`); everything that
    means "the case's images now" reads `Image.objects.current()`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="images")
    kind = models.CharField(max_length=20, choices=ImageKind.choices)
    depth_level = models.CharField(max_length=20, choices=DepthLevel.choices, blank=True)
    depth_um = models.FloatField("depth (µm)", null=True, blank=True)
    pixel_spacing_um = models.FloatField("pixel spacing (µm)", null=True, blank=True)
    z_step_um = models.FloatField(
        "z step (µm)", null=True, blank=True, help_text="RCM stack: frame i lies at depth_um + i × z_step_um."
    )
    device_profile_code = models.CharField(
        max_length=60, blank=True, help_text="Capture device export layout (imaging.DeviceProfile); guessed when empty."
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frames = models.PositiveIntegerField(default=1)
    channels = models.PositiveSmallIntegerField(default=1)
    bit_depth = models.PositiveSmallIntegerField(default=8)
    file_format = models.CharField(max_length=8, choices=ImageFormat.choices)
    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    thumbnail = models.FileField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=ImageStatus.choices, default=ImageStatus.STORED)
    status_detail = models.CharField(max_length=500, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # SET_NULL, not PROTECT: deleting a replacement (cases.services.image_delete) makes the image it
    # replaced current again, which is what clearing this link means.
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces", editable=False,
        help_text="The later capture that replaced this image; empty while the image is current.",
    )
    replaced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["case", "kind", "depth_um", "created_at"]
        constraints = [models.UniqueConstraint(fields=["case", "sha256"], name="image_unique_sha256_per_case")]

    def __str__(self) -> str:
        return f"Image {self.id} ({self.kind})"

    @property
    def is_current(self) -> bool:
        return self.replaced_by_id is None


class UploadState(models.TextChoices):
    RECEIVING = "receiving", "Receiving"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"  # shown for a receiving upload past expires_at; purged, never stored


class Upload(models.Model):
    """A resumable (tus) upload of one image file to a case, while its bytes arrive.

    The bytes go to a staging file named after the row's id (never after the client's file name);
    `offset` is how many of them are on disk. The image fields were validated when the upload was
    created and are kept in `metadata`; the last byte turns the file into an Image through the same
    intake as a multipart upload (cases.services.image_create).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    length = models.PositiveBigIntegerField(help_text="Upload-Length: the whole file's size in bytes.")
    offset = models.PositiveBigIntegerField(default=0, help_text="Bytes received and on disk.")
    metadata = models.JSONField(default=dict, help_text="The validated image fields (kind, depth, ...).")
    filename = models.CharField(max_length=255, blank=True, help_text="The client's file name, sanitised; audit only.")
    state = models.CharField(max_length=10, choices=UploadState.choices, default=UploadState.RECEIVING)
    image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error = models.CharField(max_length=500, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "expires_at"], name="upload_state_expiry_idx")]

    def __str__(self) -> str:
        return f"Upload {self.id} ({self.state}, {self.offset}/{self.length})"

    @property
    def staging_path(self) -> Path:
        return Path(settings.FILE_UPLOAD_TEMP_DIR) / "tus" / f"{self.id.hex}.part"

    def is_expired(self, now=None) -> bool:
        """Only an unfinished upload expires; a finished one keeps its answer until it is purged."""
        return self.state == UploadState.RECEIVING and self.expires_at <= (now or timezone.now())

    @property
    def shown_state(self) -> str:
        return UploadState.EXPIRED if self.is_expired() else self.state


LOCKED_STATUSES = (CaseStatus.SIGNED, CaseStatus.AMENDED)  # a signed case keeps what its report was signed with


class CaseReadGrant(models.Model):
    """Abstract: a row that lets `reader` read `case` while `ended_at` is empty (the reading app's
    assignment is one). cases.selectors finds the concrete models through the app registry, as jobs
    finds its job models, so who may read a case is decided here without importing the apps built
    on cases."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="%(class)ss")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="%(class)ss")
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Set when the case was reassigned or unassigned.")

    class Meta:
        abstract = True
