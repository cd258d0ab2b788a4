from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "apps.inference"

    def ready(self) -> None:
        from apps.operations.metrics import register_gauge_source

        from .metrics import engine_queue_depth

        register_gauge_source(
            "engine_queue_depth",
            engine_queue_depth,
            documentation="Requests held by each local engine in this process (running or queued).",
            labels=("backend",),
        )
