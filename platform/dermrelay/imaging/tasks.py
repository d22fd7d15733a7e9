"""Celery tasks of imaging that chain nothing (the derivation's task is the pipeline's)."""

from __future__ import annotations

from celery import shared_task

from dermrelay.storage import work_dirs_sweep


@shared_task(name="dermrelay.imaging.tasks.work_dirs_sweep", ignore_result=True)
def work_dirs_sweep_task() -> int:
    return work_dirs_sweep(older_than_seconds=6 * 3600)
