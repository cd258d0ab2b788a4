"""The batch engine on Django's Tasks framework (ADR 0005), with the durable database backend
(`django_tasks_db`, worker: `manage.py db_worker`). Two tasks:

batch_run(id)       one slice of work (engine.py). A slice whose time is up enqueues the next one,
                    so a long batch is a chain of short tasks and batches take turns on a worker.
batch_watchdog(id)  deferred by BATCH_ITEM_LEASE_SECONDS, re-arming itself until the batch is
                    terminal. The database backend never retries a task whose worker died (its row
                    stays `RUNNING`), so this is what resumes a killed worker's batch: if no slice
                    has shown life for a lease period and no `batch_run` waits in the queue, it
                    enqueues one. The new slice re-claims the dead slice's items once their leases
                    expire. A spare slice is harmless: item claims are exclusive.

Both are enqueued in the transaction that creates the batch (same database), so a batch exists
exactly when its work is queued.
"""

from __future__ import annotations

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.tasks import task
from django.tasks.base import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from .engine import SliceEnd, batch_slice_run
from .models import BatchJob

QUEUE = "batches"


@task(queue_name=QUEUE)
async def batch_run(public_id: str) -> str:
    end = await batch_slice_run(public_id=public_id)
    if end == SliceEnd.CONTINUE:
        await sync_to_async(batch_run_enqueue)(public_id=public_id)
    return end.value


@task(queue_name=QUEUE)
def batch_watchdog(public_id: str) -> str:
    batch = BatchJob.objects.filter(public_id=public_id).first()
    if batch is None or batch.is_terminal:
        return "done"
    outcome = "alive"
    if not _someone_on_it(batch):
        batch_run_enqueue(public_id=public_id)
        outcome = "resumed"
    watchdog_arm(public_id=public_id)
    return outcome


def batch_run_enqueue(*, public_id: str) -> None:
    result = batch_run.enqueue(public_id)
    BatchJob.objects.filter(public_id=public_id).update(task_id=str(result.id))


def watchdog_arm(*, public_id: str) -> None:
    later = timezone.now() + timedelta(seconds=settings.BATCH_ITEM_LEASE_SECONDS)
    batch_watchdog.using(run_after=later).enqueue(public_id)


def _someone_on_it(batch: BatchJob) -> bool:
    """A slice showed life within a lease period, or the last `batch_run` still waits to start."""
    fresh = timezone.now() - timedelta(seconds=settings.BATCH_ITEM_LEASE_SECONDS)
    if batch.heartbeat_at is not None and batch.heartbeat_at > fresh:
        return True
    if not batch.task_id:
        return False
    try:
        return batch_run.get_result(batch.task_id).status == TaskResultStatus.READY
    except TaskResultDoesNotExist:  # pruned
        return False
