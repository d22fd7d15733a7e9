"""Keeping ModelVersion rows in step with the inference registry."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from inference.registry import ModelError, Registry

from .models import ModelStatus, ModelVersion


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    errors: list[str]


@transaction.atomic
def model_versions_sync(*, registry: Registry | None = None) -> SyncReport:
    """One row per card (name, version, weights hash); weights are verified now, not at first use.
    A new version of a name becomes active only when its weights verify and no version is active."""
    registry = registry or Registry()
    created = updated = 0
    errors = []
    for card in registry.cards():
        try:
            registry.verify(card)
            status, detail = ModelStatus.READY, ""
        except ModelError as exc:
            status, detail = ModelStatus.ERROR, str(exc)
            errors.append(detail)
        row, was_created = ModelVersion.objects.update_or_create(
            name=card.name, version=card.version, weights_sha256=card.weights["sha256"],
            defaults={"task": card.task, "modality": card.modality, "card": card.data, "status": status,
                      "status_detail": detail},
        )
        created += was_created
        updated += not was_created
        if status == ModelStatus.ERROR and row.is_active:
            row.is_active = False  # a broken active model stops being used, visibly
            row.save(update_fields=["is_active"])
        elif status == ModelStatus.READY and not ModelVersion.objects.filter(name=card.name, is_active=True).exists():
            row.is_active = True
            row.save(update_fields=["is_active"])
    return SyncReport(created=created, updated=updated, errors=errors)
