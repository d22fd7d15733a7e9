from django.apps import AppConfig


class ReadingConfig(AppConfig):
    name = "dermrelay.reading"
    label = "reading"
    verbose_name = "Reading and reports"
