from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dermrelay.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registers the Celery tasks in web processes too)
