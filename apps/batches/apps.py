from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "apps.batches"

    def ready(self) -> None:
        from apps.operations.metrics import register_gauge_source

        from . import (
            checks,  # noqa: F401  (registers the system check)
            schema,  # noqa: F401  (registers its drf-spectacular extensions)
        )
        from .metrics import batch_items_waiting, batches_open

        register_gauge_source(
            "batches_open",
            batches_open,
            documentation="Batches not finished yet, by status (queued, running, cancelling).",
            labels=("status",),
        )
        register_gauge_source(
            "batch_items_waiting",
            batch_items_waiting,
            documentation="Items of unfinished batches not finished yet: the batch workers' backlog.",
        )
