from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "dermrelay.imaging"
    label = "imaging"
    verbose_name = "Imaging derivatives"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registers the Celery tasks in web processes too)
