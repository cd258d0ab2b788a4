from django.apps import AppConfig


class RequestLogsConfig(AppConfig):
    name = "apps.request_logs"
    verbose_name = "Request logs"
