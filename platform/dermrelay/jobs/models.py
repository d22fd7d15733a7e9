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
