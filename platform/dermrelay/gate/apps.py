from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "dermrelay.gate"
    label = "gate"
    verbose_name = "Quality gate"
