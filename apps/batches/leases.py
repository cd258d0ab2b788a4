"""Item leases: lease items to a worker, renew, finish exactly once, hand back, give up.

Exactly once, in short: an item's result, its `UsageRecord` and its batch counter commit in ONE
transaction (the pipeline's settle step, apps/pipeline/batch_item.py) that first moves the item
`running -> completed` *only if this lease still holds it* (`lease_owner` = this lease's random
token): `item_finish` below. Items finishing together share that transaction (a group commit). A
worker killed before the commit leaves the item `running` with a lease that expires; the next
lease takes it and runs it again, and nothing had been charged. Two commits for one item are
impossible twice over: the guarded update matches one lease only, and `UsageRecord.request_id`
(`<batch id>:<index>`) is unique.

SQLite has no row locks: there leasing is ONE `UPDATE` statement (SQLite runs one writer at a time,
and the statement re-checks the leasable condition itself). Every write transaction here starts
with a write, so SQLite takes its write lock up front and waits instead of failing a lock upgrade.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.backends.base import Usage
from apps.core.errors import InternalError

from .models import BatchItem, BatchJob

logger = logging.getLogger(__name__)

Item = BatchItem.Status


@dataclass(frozen=True, slots=True)
class LeasedItem:
    pk: int
    index: int
    endpoint: str
    body: dict[str, Any]
    attempts: int
    owner: str  # this lease's token


def items_lease(*, batch_pk: int, limit: int, lease_s: float, max_attempts: int) -> list[LeasedItem]:
    """Up to `limit` pending items (or items whose lease expired) of a running batch, leased to a
    new owner token for `lease_s` seconds."""
    now = timezone.now()
    owner = secrets.token_hex(12)
    leasable = BatchItem.objects.filter(
        Q(status=Item.PENDING) | Q(status=Item.RUNNING, lease_expires_at__lt=now),
        batch_id=batch_pk,
        batch__status=BatchJob.Status.RUNNING,  # a cancel stops leasing at once
        attempts__lt=max_attempts,
    )
    lease = {"status": Item.RUNNING, "lease_owner": owner, "lease_expires_at": now + timedelta(seconds=lease_s)}
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(
                leasable.order_by("index").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            BatchItem.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1, **lease)
    else:
        chosen = leasable.order_by("index").values("pk")[:limit]
        leasable.filter(pk__in=chosen).update(attempts=F("attempts") + 1, **lease)
    rows = BatchItem.objects.filter(lease_owner=owner, status=Item.RUNNING).order_by("index")
    return [
        LeasedItem(row.pk, row.index, row.endpoint, row.body, row.attempts, owner)
        for row in rows.only("pk", "index", "endpoint", "body", "attempts")
    ]


def leases_renew(*, batch_pk: int, held: list[LeasedItem], lease_s: float) -> None:
    """Extend the leases of the items this slice is running, and say that it is alive (the
    watchdog reads that)."""
    now = timezone.now()
    BatchJob.objects.filter(pk=batch_pk).update(heartbeat_at=now)
    if held:
        BatchItem.objects.filter(
            pk__in=[item.pk for item in held], lease_owner__in={item.owner for item in held}, status=Item.RUNNING
        ).update(lease_expires_at=now + timedelta(seconds=lease_s))


def item_finish(
    *,
    item: LeasedItem,
    batch_pk: int,
    response: dict[str, Any] | None,
    error: dict[str, Any] | None,
    usage: Usage | None,
) -> bool:
    """Move a leased item to its final state and count it in its batch; False (nothing written)
    when its lease was lost (it expired and another worker took the item). Runs inside the
    pipeline's settle transaction, which then records the item's charge."""
    moved = _held(item).update(
        status=Item.FAILED if error is not None else Item.COMPLETED,
        response=response,
        error=error,
        usage=_usage_dict(usage),
        finished_at=timezone.now(),
        lease_owner="",
        lease_expires_at=None,
    )
    if not moved:
        logger.warning("batch item %s lost its lease before it was settled", item.pk)
        return False
    counter = "failed_count" if error is not None else "completed_count"
    BatchJob.objects.filter(pk=batch_pk).update(**{counter: F(counter) + 1})
    return True


def item_retry_later(*, item: LeasedItem, delay_s: float, count_attempt: bool = True) -> None:
    """Hand an item back: no owner, leasable again once `delay_s` has passed. An overloaded model
    does not use up an attempt: a batch waits for capacity, however long that takes."""
    later = timezone.now() + timedelta(seconds=delay_s)
    attempts = F("attempts") if count_attempt else F("attempts") - 1
    _held(item).update(lease_owner="", lease_expires_at=later, attempts=attempts)


def items_give_up(*, batch_pk: int, max_attempts: int) -> int:
    """Fail items whose every attempt died with its worker (never finished, never charged)."""
    error = InternalError(f"The item was attempted {max_attempts} times and never finished.").as_dict()
    with transaction.atomic():
        failed = BatchItem.objects.filter(
            batch_id=batch_pk, status=Item.RUNNING, lease_expires_at__lt=timezone.now(), attempts__gte=max_attempts
        ).update(status=Item.FAILED, error=error, finished_at=timezone.now(), lease_owner="", lease_expires_at=None)
        if failed:
            BatchJob.objects.filter(pk=batch_pk).update(failed_count=F("failed_count") + failed)
    return failed


def _held(item: LeasedItem) -> Any:
    return BatchItem.objects.filter(pk=item.pk, status=Item.RUNNING, lease_owner=item.owner)


def _usage_dict(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
