"""Batch jobs for the API: create, read, list, results, cancel. Every read is scoped to the calling
customer: another customer's batch is `not_found`, never `permission_denied` (docs/api-contract.md, "Errors")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction

from apps.core.errors import NotFound
from apps.core.ids import prefixed_id
from apps.core.pagination import Page, paginate
from apps.customers.principal import Principal

from . import lifecycle
from .models import BatchItem, BatchJob
from .progress import progress_publish
from .tasks import batch_run, watchdog_arm
from .validation import ValidItem

EXPORT_CHUNK = 500


def batch_create(
    *, principal: Principal, items: list[ValidItem], metadata: dict[str, str], idempotency_record_id: int | None
) -> BatchJob:
    """A queued batch; its first slice and its watchdog are enqueued in the same transaction."""
    if idempotency_record_id is not None:
        # Only a retry after a crash between this batch's commit and its key's completion gets here.
        existing = BatchJob.objects.filter(idempotency_record_id=idempotency_record_id).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        batch = BatchJob.objects.create(
            public_id=prefixed_id("batch"),
            customer_id=principal.customer_id,
            token_id=principal.token_id,
            metadata=metadata,
            total_count=len(items),
            idempotency_record_id=idempotency_record_id,
        )
        BatchItem.objects.bulk_create(
            [
                BatchItem(batch=batch, index=i.index, custom_id=i.custom_id, endpoint=i.endpoint, body=i.body)
                for i in items
            ],
            batch_size=EXPORT_CHUNK,
        )
        batch.task_id = str(batch_run.enqueue(batch.public_id).id)
        batch.save(update_fields=["task_id"])
        watchdog_arm(public_id=batch.public_id)
    return batch


def batch_get(*, customer_id: int, public_id: str) -> BatchJob:
    batch = BatchJob.objects.filter(customer_id=customer_id, public_id=public_id).first()
    if batch is None:
        raise NotFound(f"No batch '{public_id}'.")
    return batch


def batch_list(*, customer_id: int, cursor: str | None, limit: int) -> Page:
    """Newest first."""
    return paginate(BatchJob.objects.filter(customer_id=customer_id), cursor=cursor, limit=limit, key="-id")


def batch_cancel(*, customer_id: int, public_id: str) -> BatchJob:
    batch = batch_get(customer_id=customer_id, public_id=public_id)
    lifecycle.batch_cancel_request(batch_pk=batch.pk)
    async_to_sync(progress_publish)(public_id)
    batch.refresh_from_db()
    return batch


def batch_results_page(*, batch: BatchJob, cursor: str | None, limit: int) -> Page:
    page = paginate(_results(batch), cursor=cursor, limit=limit, key="index")
    return Page(items=[result_of(item) for item in page.items], next_cursor=page.next_cursor)


def batch_results_chunks(*, batch: BatchJob) -> Iterator[list[dict[str, Any]]]:
    """Every result in order, a chunk (one query) at a time: for exports of any size."""
    after = -1
    while chunk := list(_results(batch).filter(index__gt=after).order_by("index")[:EXPORT_CHUNK]):
        after = chunk[-1].index
        yield [result_of(item) for item in chunk]


def result_of(item: BatchItem) -> dict[str, Any]:
    return {
        "custom_id": item.custom_id,
        "endpoint": item.endpoint,
        "status": item.status,
        "response": item.response,
        "error": item.error,
        "usage": item.usage,
    }


def _results(batch: BatchJob) -> Any:
    return BatchItem.objects.filter(batch=batch).only(
        "index", "custom_id", "endpoint", "status", "response", "error", "usage"
    )
