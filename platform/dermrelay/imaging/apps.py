from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "dermrelay.imaging"
    label = "imaging"
    verbose_name = "Imaging derivatives"

    def ready(self) -> None:
        from . import signals, tasks  # noqa: F401  (Celery tasks in web processes too; file clean-up)
