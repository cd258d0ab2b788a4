from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "apps.inference"

    def ready(self) -> None:
        from apps.backends.registry import upstream_pools
        from apps.backends.upstream_metrics import replicas_in_flight, replicas_up
        from apps.operations.metrics import register_gauge_source

        from .metrics import engine_queue_depth

        register_gauge_source(
            "engine_queue_depth",
            engine_queue_depth,
            documentation="Requests held by each local engine in this process (running or queued).",
            labels=("backend",),
        )
        register_gauge_source(
            "upstream_replica_in_flight",
            lambda: replicas_in_flight(upstream_pools()),
            documentation="Requests this worker has in flight on each upstream replica.",
            labels=("model", "replica"),
        )
        register_gauge_source(
            "upstream_replica_up",
            lambda: replicas_up(upstream_pools()),
            documentation="1 when this worker routes to the replica, 0 while it is ejected.",
            labels=("model", "replica"),
        )
