"""Celery tasks for derived files (queue `ingest`): thin, load by id, call a service."""

from __future__ import annotations

import logging

import pyvips
from celery import shared_task

from dermrelay.cases.models import Image
from dermrelay.cases.services import case_advance

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="dermrelay.imaging.tasks.image_derive", acks_late=True)
def image_derive_task(image_id: str) -> None:
    image = Image.objects.select_related("case").filter(pk=image_id).first()
    if image is None:  # removed before the worker got to it
        return
    try:
        services.image_thumbnail_create(image=image)
    except (pyvips.Error, OSError) as exc:
        logger.warning("derivation failed for image %s: %s", image_id, exc)
        services.image_mark_failed(image_id=image.id, reason=f"Thumbnail could not be made: {exc}")
    case_advance(case_id=image.case_id)
