"""A pyramid's tiles leave with its row (an image deleted from a draft case)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Pyramid
from dermrelay.storage import prefix_delete


@receiver(post_delete, sender=Pyramid)
def _pyramid_files_delete(sender, instance: Pyramid, **kwargs) -> None:
    prefix = instance.prefix
    transaction.on_commit(lambda: prefix_delete(prefix))
