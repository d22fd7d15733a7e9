"""The reliable background job: a database row whose state the Celery message merely points at.

Concrete jobs (imaging derivation, analysis runs) subclass `Job`, name their Celery task and
queue, and are run by `jobs.services.job_run`. The row, not the broker, is the truth: a lost
message, a killed worker or an emptied broker leaves a row that the reconciler sends again.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED})


class Job(models.Model):
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    last_error = models.TextField(blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_by = models.CharField(max_length=200, blank=True, help_text="host:pid of the process running it")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True, help_text="when a message was last sent")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    task_name: ClassVar[str]
    queue: ClassVar[str] = "default"

    class Meta:
        abstract = True


class JobOutput(models.Model):
    """A prefix an attempt of a job is about to write under, recorded before it writes (storage.py's
    output_intend, jobs/services.py): the ledger that lets the files of an attempt whose work never
    committed (a killed process, a lost database) be removed. An attempt that succeeds drops its own
    rows with its success, the files being the job's results by then, and removes earlier attempts'."""

    job_label = models.CharField(max_length=100, help_text="the job model, e.g. 'imaging.derivationjob'")
    job_id = models.CharField(max_length=64)
    attempt = models.PositiveSmallIntegerField()
    prefix = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["job_label", "job_id"], name="job_output_job_idx"),
                   models.Index(fields=["created_at"], name="job_output_created_idx")]
