"""Item state transitions: claim under a lease, renew, settle exactly once, retry, give up.

Exactly once, in short: an item's result, its `UsageRecord` and its batch counter commit in ONE
transaction that first moves the item `running -> completed` *only if this claim still holds it*
(`lease_owner` = this claim's random token). Items finishing together share that transaction (a
group commit). A worker killed before the commit leaves the item `running` with a lease that
expires; the next claim takes it and runs it again, and nothing had been charged. Two commits for
one item are impossible twice over: the guarded update matches one claim only, and
`UsageRecord.request_id` (`<batch id>:<index>`) is unique.

SQLite has no row locks: there a claim is ONE `UPDATE` statement (SQLite runs one writer at a time,
and the statement re-checks the claimable condition itself). Every write transaction here starts
with a write, so SQLite takes its write lock up front and waits instead of failing a lock upgrade.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import InternalError
from apps.usage.charges import Charge, usage_record

from .models import BatchItem, BatchJob, item_request_id

logger = logging.getLogger(__name__)

Item = BatchItem.Status


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    pk: int
    index: int
    endpoint: str
    body: dict[str, Any]
    attempts: int
    owner: str  # this claim's lease token


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    response: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    charge: Charge | None = None
    error: dict[str, Any] | None = None
    retry: bool = False  # a transient failure (upstream down or slow): run it again later
    overloaded: bool = False  # the model said "at capacity": back-pressure, not a failed attempt


def items_claim(*, batch_pk: int, limit: int, lease_s: float, max_attempts: int) -> list[ClaimedItem]:
    """Up to `limit` pending items (or items whose lease expired) of a running batch, leased to a
    new owner token for `lease_s` seconds."""
    now = timezone.now()
    owner = secrets.token_hex(12)
    claimable = BatchItem.objects.filter(
        Q(status=Item.PENDING) | Q(status=Item.RUNNING, lease_expires_at__lt=now),
        batch_id=batch_pk,
        batch__status=BatchJob.Status.RUNNING,  # a cancel stops claims at once
        attempts__lt=max_attempts,
    )
    lease = {"status": Item.RUNNING, "lease_owner": owner, "lease_expires_at": now + timedelta(seconds=lease_s)}
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(
                claimable.order_by("index").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            BatchItem.objects.filter(pk__in=ids).update(attempts=F("attempts") + 1, **lease)
    else:
        chosen = claimable.order_by("index").values("pk")[:limit]
        claimable.filter(pk__in=chosen).update(attempts=F("attempts") + 1, **lease)
    rows = BatchItem.objects.filter(lease_owner=owner, status=Item.RUNNING).order_by("index")
    return [
        ClaimedItem(row.pk, row.index, row.endpoint, row.body, row.attempts, owner)
        for row in rows.only("pk", "index", "endpoint", "body", "attempts")
    ]


def leases_renew(*, batch_pk: int, held: list[ClaimedItem], lease_s: float) -> None:
    """Extend the leases of the items this slice is running, and say that it is alive (the
    watchdog reads that)."""
    now = timezone.now()
    BatchJob.objects.filter(pk=batch_pk).update(heartbeat_at=now)
    if held:
        BatchItem.objects.filter(
            pk__in=[item.pk for item in held], lease_owner__in={item.owner for item in held}, status=Item.RUNNING
        ).update(lease_expires_at=now + timedelta(seconds=lease_s))


def items_settle(*, batch: BatchJob, finished: list[tuple[ClaimedItem, ItemOutcome]]) -> list[bool]:
    """Commit finished items, each with its result or error and its usage, in ONE transaction (a
    group commit: one disk sync for many items). Per item: False when its claim was lost (the
    lease expired and another worker took it) or it was already charged; nothing is written for it."""
    with transaction.atomic():
        settled = [_settle_one(batch, item, outcome) for item, outcome in finished]
        done = [outcome for (_, outcome), ok in zip(finished, settled, strict=True) if ok]
        failed = sum(1 for outcome in done if outcome.error is not None)
        if done:
            BatchJob.objects.filter(pk=batch.pk).update(
                completed_count=F("completed_count") + len(done) - failed, failed_count=F("failed_count") + failed
            )
    return settled


def _settle_one(batch: BatchJob, item: ClaimedItem, outcome: ItemOutcome) -> bool:
    try:
        with transaction.atomic():  # a savepoint: one item's conflict leaves the others alone
            moved = _held(item).update(
                status=Item.FAILED if outcome.error is not None else Item.COMPLETED,
                response=outcome.response,
                error=outcome.error,
                usage=outcome.usage,
                finished_at=timezone.now(),
                lease_owner="",
                lease_expires_at=None,
            )
            if moved and outcome.charge is not None:
                request_id = item_request_id(batch_public_id=batch.public_id, index=item.index)
                usage_record(charge=outcome.charge, request_id=request_id)
    except IntegrityError:
        # The usage row exists: an earlier commit charged this item. Nothing was written now.
        logger.warning("batch item %s of %s already settled", item.index, batch.public_id)
        return False
    return bool(moved)


def item_retry_later(*, item: ClaimedItem, delay_s: float, count_attempt: bool = True) -> None:
    """Hand an item back: no owner, claimable again once `delay_s` has passed. An overloaded model
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


def _held(item: ClaimedItem) -> Any:
    return BatchItem.objects.filter(pk=item.pk, status=Item.RUNNING, lease_owner=item.owner)
