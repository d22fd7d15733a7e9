from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "dermrelay.imaging"
    label = "imaging"
    verbose_name = "Imaging derivatives"
