from django.apps import AppConfig


class RequestLogsConfig(AppConfig):
    name = "apps.request_logs"
    verbose_name = "Request logs and usage"

    def ready(self) -> None:
        from .metrics import register_gauge_source
        from .writer import request_log_writer

        register_gauge_source(
            "request_log_buffered_rows", lambda: request_log_writer.pending, documentation="Rows waiting to be written."
        )
        register_gauge_source(
            "request_log_dropped_rows",
            lambda: request_log_writer.dropped,
            documentation="Rows dropped since start because the buffer was full (the database was down too long).",
        )
        register_gauge_source(
            "request_log_rejected_rows",
            lambda: request_log_writer.rejected,
            documentation="Rows dropped since start because the database refused their content.",
        )
        register_gauge_source(
            "request_log_noise_buckets",
            lambda: request_log_writer.noise.open_buckets,
            documentation="Open buckets of aggregated unauthenticated rejections.",
        )
