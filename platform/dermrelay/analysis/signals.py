"""Stored outputs leave with their rows: an image deleted while its case is a draft takes its run
outputs and overlay pyramids along (after the deleting transaction commits)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from dermrelay.storage import prefix_delete

from .models import AnalysisRun, Overlay


@receiver(post_delete, sender=Overlay)
def _overlay_files_delete(sender, instance: Overlay, **kwargs) -> None:
    prefix = instance.prefix
    transaction.on_commit(lambda: prefix_delete(prefix))


@receiver(post_delete, sender=AnalysisRun)
def _run_files_delete(sender, instance: AnalysisRun, **kwargs) -> None:
    if instance.output_prefix:
        prefix = instance.output_prefix
        transaction.on_commit(lambda: prefix_delete(prefix))
