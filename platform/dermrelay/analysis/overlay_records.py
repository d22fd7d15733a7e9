"""Overlay rows: recorded in the transaction that makes them, the files they replace removed after
it commits, so a viewer never loses the tiles it is showing to a rolled-back change."""

from __future__ import annotations


from django.db import transaction

from dermrelay.imaging.overlays import overlay_delete

from dermrelay.analysis.models import Overlay



def overlay_store(*, image, source_image, kind, run, pyramid, legend, inputs_key) -> None:
    """Record an overlay (inside the caller's transaction); the one it replaces is removed after commit."""
    previous = Overlay.objects.filter(image=image, source_image=source_image, kind=kind).first()
    Overlay.objects.update_or_create(image=image, source_image=source_image, kind=kind, defaults={
        "run": run, "prefix": pyramid.prefix, "width": pyramid.width, "height": pyramid.height,
        "level_offset": pyramid.level_offset, "legend": legend, "inputs_key": inputs_key})
    if previous is not None and previous.prefix != pyramid.prefix:
        old = previous.prefix
        transaction.on_commit(lambda: overlay_delete(old))


def overlay_remove(*, image, source_image, kind) -> None:
    for overlay in Overlay.objects.filter(image=image, source_image=source_image, kind=kind):
        old = overlay.prefix
        overlay.delete()
        transaction.on_commit(lambda: overlay_delete(old))
