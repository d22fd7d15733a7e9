from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "dermrelay.analysis"
    label = "analysis"
    verbose_name = "Models and analyses"

    def ready(self) -> None:
        from . import signals, tasks  # noqa: F401  (Celery tasks in web processes too; file clean-up)
