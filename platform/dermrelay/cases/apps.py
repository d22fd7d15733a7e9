from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "dermrelay.cases"
    label = "cases"
    verbose_name = "Patients, lesions, cases and images"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registers the Celery tasks in web processes too)
