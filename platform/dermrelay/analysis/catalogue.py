"""The models the platform knows: versions mirrored from the inference registry's cards,
verified weights loaded once per process, warmed when a worker starts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from dermrelay.jobs.services import PermanentJobError
from inference.serving.registry import LoadedModel, ModelError, Registry

from dermrelay.analysis.models import ModelStatus, ModelVersion
from dermrelay.analysis.selectors import active_version


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    errors: list[str]


@transaction.atomic
def model_versions_sync(*, registry: Registry | None = None) -> SyncReport:
    """One row per card (name, version, weights hash); weights are verified now, not at first use.
    A new version of a name becomes active only when its weights verify and no version is active.
    A row whose weights no card of its name ships any more (an upgrade replaced them) is marked as
    an error and stops being active, so that the shipped version of that name takes over."""
    registry = registry or Registry()
    created = updated = 0
    errors = []
    cards = registry.cards()
    shipped: dict[str, set[str]] = {}
    for card in cards:
        shipped.setdefault(card.name, set()).add(card.weights["sha256"])
    for row in ModelVersion.objects.filter(name__in=shipped).exclude(status=ModelStatus.ERROR, is_active=False):
        if row.weights_sha256 not in shipped[row.name]:
            row.status, row.is_active = ModelStatus.ERROR, False
            row.status_detail = "no longer shipped: no card of this name has these weights"
            row.save(update_fields=["status", "is_active", "status_detail"])
    for card in cards:
        try:
            registry.verify(card)
            if card.data.get("onnx"):
                registry.verify(card, "onnx")  # CPU workers run the export: it must be intact too
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


_LOADED: dict[tuple[str, str, str], LoadedModel] = {}


def model_load(*, version: ModelVersion) -> LoadedModel:
    """The model of this version, loaded once per worker process. Its weights are verified against
    the card and the card against the registered row: a missing or altered file fails the run."""
    key = (version.name, version.version, version.weights_sha256)
    if key not in _LOADED:
        try:
            loaded = Registry().load(version.name, version=version.version)
        except ModelError as exc:
            raise PermanentJobError(f"The model {version.name} {version.version} cannot be used: {exc}") from exc
        if loaded.card.weights["sha256"] != version.weights_sha256:
            raise PermanentJobError(
                f"The installed card of {version.name} {version.version} names other weights than the registered version "
                f"({loaded.card.weights['sha256'][:12]}… instead of {version.weights_sha256[:12]}…); run models_sync.")
        _LOADED[key] = loaded
    return _LOADED[key]


def models_forget() -> None:
    """Drop this process's loaded models (tests that swap the registry; an admin after a sync)."""
    _LOADED.clear()


def models_warm() -> list[str]:
    """Load every active model a plan step runs, in this process (a worker's pool process at start),
    so the first case after a start does not wait for it. Failures are left for the runs to report."""
    from .plans import PLANS

    loaded = []
    for steps in PLANS.values():
        for step in steps:
            version = active_version(name=step.model)
            if version is None:
                continue
            try:
                model_load(version=version)
                loaded.append(f"{version.name} {version.version}")
            except PermanentJobError as exc:
                logger.warning("model not warmed: %s", exc)
    return loaded
