from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "dermrelay.cases"
    label = "cases"
    verbose_name = "Patients, lesions, cases and images"
