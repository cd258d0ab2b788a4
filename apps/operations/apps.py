from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operator watches and tunes: Prometheus metrics (`/metrics`), the admin index's
    dashboard, the health checks (`/health/`) and the admin's Limits page."""

    name = "apps.operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from apps.request_logs.writer import request_log_writer

        from .metrics import register_gauge_source

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
