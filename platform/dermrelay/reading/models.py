"""Assignments of cases to readers, and reports with their signed, immutable versions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from dermrelay.audit.models import WrittenOnce
from dermrelay.cases.models import Case, CaseReadGrant


class Assignment(CaseReadGrant):
    """A case given to one reader by a site administrator. At most one assignment of a case is
    active (ended_at empty); reassigning ends the previous one, so the history stays. The reader
    claims it to start reading (the case goes in_reading) and may release it again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True, help_text="When the report is due; empty for no due time.")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="Set while the reader holds the case.")
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=models.Q(ended_at__isnull=True),
                                    name="assignment_one_active_per_case"),
        ]
        indexes = [models.Index(fields=["reader", "ended_at"], name="assignment_reader_active_idx")]

    def __str__(self) -> str:
        return f"Assignment of {self.case_id} to {self.reader_id}"


class Diagnosis(models.TextChoices):
    """HAM10000's seven dermoscopy classes, which include the RCM classifier's three (melanoma,
    basal cell carcinoma, nevus: see RCM_CLASS_DIAGNOSIS), plus other with free text."""

    AKIEC = "akiec", "Actinic keratosis / intraepithelial carcinoma (akiec)"
    BCC = "bcc", "Basal cell carcinoma (bcc)"
    BKL = "bkl", "Benign keratosis-like lesion (bkl)"
    DF = "df", "Dermatofibroma (df)"
    MEL = "mel", "Melanoma (mel)"
    NV = "nv", "Melanocytic nevus (nv)"
    VASC = "vasc", "Vascular lesion (vasc)"
    OTHER = "other", "Other (see text)"


# The RCM mosaic classes name the same diagnoses as three HAM10000 classes.
RCM_CLASS_DIAGNOSIS = {"melanoma": Diagnosis.MEL, "basal cell carcinoma": Diagnosis.BCC, "nevus": Diagnosis.NV}


class Management(models.TextChoices):
    BIOPSY = "biopsy", "Biopsy"
    EXCISION = "excision", "Excision"
    FOLLOW_UP = "follow_up", "Follow-up"
    NO_ACTION = "no_action", "No action"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"
    AMENDED = "amended", "Amended"


class Report(models.Model):
    """The reader's report of a case. Editable as a draft; signing freezes it into a ReportVersion
    and afterwards it changes only by amendment (each a new version). The fields here always hold
    the latest text; the versions hold what was signed, with the platform's quality block."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="report")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    diagnosis = models.CharField(max_length=10, choices=Diagnosis.choices, blank=True)
    diagnosis_other = models.CharField(max_length=200, blank=True, help_text="The diagnosis when it is 'other'.")
    management = models.CharField(max_length=12, choices=Management.choices, blank=True)
    follow_up_months = models.PositiveSmallIntegerField(null=True, blank=True)
    findings = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    current_version = models.PositiveIntegerField(default=0, help_text="0 while never signed.")
    signed_at = models.DateTimeField(null=True, blank=True, help_text="The first signature.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Report of {self.case_id} ({self.status})"


class ReportVersionKind(models.TextChoices):
    SIGNATURE = "signature", "Signature"
    AMENDMENT = "amendment", "Amendment"


class ImmutableError(RuntimeError):
    """Raised when code tries to change or delete a signed report version."""


class ReportVersion(WrittenOnce, models.Model):
    """One signed state of a report: its content as JSON and the SHA-256 of the content's canonical
    serialisation (reading.services.canonical_json). Rows are never changed or deleted: the model
    refuses, and on PostgreSQL a trigger refuses too (migration 0002)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=ReportVersionKind.choices)
    reason = models.TextField(blank=True, help_text="Why the report was amended (amendments only).")
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["report", "version"]
        constraints = [models.UniqueConstraint(fields=["report", "version"], name="report_version_unique")]

    def __str__(self) -> str:
        return f"Report {self.report_id} v{self.version}"

    refusal = ImmutableError
    refusal_text = "signed report versions cannot be changed or deleted"


class ReportPolicy(models.Model):
    """A site's rules for its printed reports. The report PDF is filed in the patient's chart, so it
    names the patient (name, MRN, birth date, sex) by default; a site whose readers are outside the
    clinic may leave those identifiers out of the PDFs its readers download. The clinic's own
    technicians and administrators always get them: it is their chart. No row means the defaults."""

    site = models.OneToOneField("accounts.Site", on_delete=models.CASCADE, related_name="report_policy")
    patient_identifiers_for_readers = models.BooleanField(
        default=True, help_text="Print the patient's name, MRN, birth date and sex on PDFs that readers download.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "report policies"

    def __str__(self) -> str:
        return f"Report policy of {self.site_id}"
