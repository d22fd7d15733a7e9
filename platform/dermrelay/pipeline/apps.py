from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """No models: the order of the work (steps) and the only tasks that chain one step to the next."""

    name = "dermrelay.pipeline"
    label = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (registered in web processes too, for sending)
