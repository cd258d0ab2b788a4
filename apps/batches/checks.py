"""Batches need the durable database task backend: creating a batch enqueues its work in the same
transaction (same database), and workers on other machines pick it up from there."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.tasks import task_backends

REQUIRED_BACKEND = "django_tasks_db.backend.DatabaseBackend"


@checks.register()
def task_backend_is_durable(**kwargs: Any) -> list[checks.CheckMessage]:
    backend = type(task_backends["default"])
    path = f"{backend.__module__}.{backend.__qualname__}"
    if path == REQUIRED_BACKEND and "batches" in task_backends["default"].queues:
        return []
    return [
        checks.Error(
            f"Batch jobs need TASKS['default'] to be {REQUIRED_BACKEND} with the 'batches' queue (it is {path}).",
            id="batches.E001",
        )
    ]
