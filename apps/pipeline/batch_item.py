"""The batch item door: one item of a batch job, run through the same exchange as any request.

A batch item was authenticated, counted and validated when its batch was created; it runs as the
batch's token (the batch engine checks that the token still lives). What differs from an HTTP
request is the end: a transient failure is handed back to the batch engine to try again later
(nothing is settled or logged for an attempt that will be retried), and a final outcome settles
the item's result together with its charge in one transaction (the item's lease guards it, so of
two workers holding the same item only one settles it) and is logged once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.backends.base import Usage
from apps.core.errors import ApiError, ModelOverloaded
from apps.customers.principal import Principal

from .exchange import Admission, Data, Exchange, Work
from .facts import RequestFacts
from .settlement import GroupCommit
from .shapes import ItemResult

# Worth another attempt later: the model or its upstream is down or slow.
RETRYABLE_STATUSES = frozenset({502, 503, 504})
ITEM_RESULT = ItemResult()

# Writes an item's final state: (response, error, usage) -> False if the item is not ours any more.
FinishItem = Callable[[dict[str, Any] | None, dict[str, Any] | None, Usage | None], bool]


class ItemEnd(enum.StrEnum):
    SETTLED = "settled"  # the result and its charge are committed, and logged
    LOST = "lost"  # another worker holds the item now: nothing was written
    RETRY = "retry"  # a transient failure: try again later (counts as an attempt)
    OVERLOADED = "overloaded"  # the model had no room: try again soon (no attempt used)


@dataclass(frozen=True, slots=True)
class ItemRun:
    end: ItemEnd
    error: ApiError | None = None


async def run_batch_item(
    *,
    principal: Principal,
    request_id: str,
    path: str,
    work: Work,
    finish: FinishItem,
    last_attempt: bool,
    committer: GroupCommit | None = None,
) -> ItemRun:
    facts = RequestFacts(request_id=request_id, method="BATCH", path=path, client_ip="unknown", principal=principal)
    exchange = Exchange(facts, shape=ITEM_RESULT, committer=committer)
    try:
        await exchange.admit(Admission(principal=principal, counted=False))
        result = await work(exchange)
        assert isinstance(result, Data), "batch items do not stream"
    except Exception as exc:
        error = exchange.error(exc)
        if isinstance(error, ModelOverloaded):
            return ItemRun(ItemEnd.OVERLOADED, error)
        if error.status in RETRYABLE_STATUSES and not last_attempt:
            return ItemRun(ItemEnd.RETRY, error)
        failure = exchange.shape.error(exchange, error)
        settled = await exchange.settle(charge=None, reply=None, door_write=lambda: finish(None, failure, None))
        if settled:
            exchange.log(status=error.status, error=error)
        return ItemRun(ItemEnd.SETTLED if settled else ItemEnd.LOST, error)
    response = exchange.shape.data(exchange, result.data)
    usage = result.charge.usage if result.charge is not None else None
    settled = await exchange.settle(charge=result.charge, reply=None, door_write=lambda: finish(response, None, usage))
    if settled:
        exchange.log(status=result.status, usage=usage)
    return ItemRun(ItemEnd.SETTLED if settled else ItemEnd.LOST)
