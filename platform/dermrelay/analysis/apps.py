from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "dermrelay.analysis"
    label = "analysis"
    verbose_name = "Models and analyses"
