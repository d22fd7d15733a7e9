from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "dermrelay.analysis"
    label = "analysis"
    verbose_name = "Models and analyses"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registers the Celery tasks in web processes too)
