from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "apps.batches"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system check)
