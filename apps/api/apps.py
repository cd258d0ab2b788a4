from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    verbose_name = "API"

    def ready(self) -> None:
        from . import schema_extensions  # noqa: F401  (registers with drf-spectacular)
