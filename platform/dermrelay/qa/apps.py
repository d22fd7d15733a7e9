from django.apps import AppConfig


class QaConfig(AppConfig):
    name = "dermrelay.qa"
    label = "qa"
    verbose_name = "Quality assurance"
