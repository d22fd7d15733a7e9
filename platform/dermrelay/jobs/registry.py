"""Every concrete job model in the project, found through the app registry."""

from __future__ import annotations

from django.apps import apps

from .models import Job


def job_models() -> list[type[Job]]:
    return [model for model in apps.get_models() if issubclass(model, Job)]
