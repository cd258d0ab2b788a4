from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "apps.pipeline"
    verbose_name = "Request pipeline"

    def ready(self) -> None:
        from . import schema_extensions  # noqa: F401  (registers with drf-spectacular)
