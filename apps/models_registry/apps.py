from django.apps import AppConfig


class ModelsRegistryConfig(AppConfig):
    name = "apps.models_registry"
    verbose_name = "Models"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects catalog invalidation)
