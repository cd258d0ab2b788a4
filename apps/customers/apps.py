from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "apps.customers"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects token-cache invalidation)
