"""One slice of a batch's work, run by the `batch_run` task (see tasks.py for the whole scheme).

A slice leases items (up to BATCH_ITEM_CONCURRENCY at a time, fewer while the model answers
"overloaded"), runs each through the pipeline's batch item door (the same exchange, endpoint table
and services as an HTTP request; finished items commit in groups), renews its leases while it
works, and stops leasing after BATCH_SLICE_SECONDS: short slices keep batches fair on a shared
worker and bound how long a graceful worker shutdown waits. The lease bookkeeping runs on the
task's own thread (asgiref thread-sensitive calls: one connection); the items run on the slice's
event loop, so concurrent embedding items meet in the micro-batcher and chat items in the engine's
slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from apps.backends.base import Usage
from apps.backends.http_session import close_shared_session
from apps.customers.principal import Principal
from apps.inference.endpoints import ENDPOINTS_BY_PATH
from apps.pipeline.batch_item import ItemEnd, ItemRun, run_batch_item
from apps.pipeline.exchange import Exchange, Result

from . import leases, lifecycle
from .leases import LeasedItem
from .models import BatchJob, item_request_id
from .progress import ProgressNudger, progress_publish

logger = logging.getLogger(__name__)

IDLE_POLL_S = 0.5  # nothing leasable, nothing running here, not finished: look again this often
OVERLOAD_DELAY_S = 0.5  # an item the model had no room for is leasable again after this


class SliceEnd(enum.StrEnum):
    GONE = "gone"  # already terminal (or deleted): nothing to do
    FINISHED = "finished"
    FAILED = "failed"
    CONTINUE = "continue"  # the slice's time is up with work left: enqueue the next slice


@dataclass(frozen=True, slots=True)
class SliceLimits:
    concurrency: int
    lease_s: float
    slice_s: float
    max_attempts: int

    @classmethod
    def from_settings(cls) -> SliceLimits:
        return cls(
            concurrency=settings.BATCH_ITEM_CONCURRENCY,
            lease_s=settings.BATCH_ITEM_LEASE_SECONDS,
            slice_s=settings.BATCH_SLICE_SECONDS,
            max_attempts=settings.BATCH_ITEM_MAX_ATTEMPTS,
        )


async def batch_slice_run(*, public_id: str) -> SliceEnd:
    # The task runner gives every task a new event loop (async_to_sync); the loop's pooled HTTP
    # session must close with it, or each slice leaks its upstream connections.
    try:
        return await _slice_run(public_id=public_id)
    finally:
        await close_shared_session()


async def _slice_run(*, public_id: str) -> SliceEnd:
    batch = await sync_to_async(lifecycle.batch_start)(public_id=public_id)
    if batch is None:
        return SliceEnd.GONE
    principal = await sync_to_async(lifecycle.batch_principal)(batch=batch)
    if principal is None:
        await sync_to_async(lifecycle.batch_fail)(batch_pk=batch.pk, error=lifecycle.token_gone_error())
        await progress_publish(public_id)
        return SliceEnd.FAILED
    await progress_publish(public_id)  # queued -> running
    return await BatchSlice(batch, principal, SliceLimits.from_settings()).run()


class BatchSlice:
    def __init__(self, batch: BatchJob, principal: Principal, limits: SliceLimits) -> None:
        self.batch, self.principal, self.limits = batch, principal, limits
        self.deadline = time.monotonic() + limits.slice_s
        # The items this slice holds, from lease to commit (or hand-back): its slots and its leases.
        # An item keeps its slot until committed: on two cores overlapping the next items with the
        # commit measured slower (smaller commit groups, more contention) than this lock-step.
        self.held: dict[asyncio.Task[None], LeasedItem] = {}
        self.wake = asyncio.Event()
        self.nudger = ProgressNudger(batch.public_id)
        self._quiet_until = 0.0  # after a lease came back short: no lease query until then
        # Items in flight adapt to what the model admits (its 503s): one fewer per overload, one
        # more per round of successes, so a slice settles just under the model's capacity.
        self.limit = float(limits.concurrency)

    async def run(self) -> SliceEnd:
        renewer = asyncio.create_task(self._renew_leases())
        try:
            return await self._loop()
        finally:
            renewer.cancel()
            await self._drain()
            await self.nudger.flush()

    async def _loop(self) -> SliceEnd:
        while True:
            self.wake.clear()  # before leasing: a slot freed meanwhile still wakes the wait below
            await self._lease_more()
            if self.held:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)
                continue
            end = await self._when_idle()
            if end is not None:
                return end
            await asyncio.sleep(IDLE_POLL_S)

    async def _lease_more(self) -> None:
        free = int(self.limit) - len(self.held)
        now = time.monotonic()
        if free <= 0 or now >= self.deadline or now < self._quiet_until:
            return
        leased = await sync_to_async(leases.items_lease)(
            batch_pk=self.batch.pk, limit=free, lease_s=self.limits.lease_s, max_attempts=self.limits.max_attempts
        )
        if len(leased) < free:
            self._quiet_until = now + IDLE_POLL_S
        for item in leased:
            self.held[asyncio.create_task(self._process(item))] = item

    async def _when_idle(self) -> SliceEnd | None:
        """Nothing runs here: finish the batch, see that it was finished elsewhere, hand over to
        the next slice, or wait for leases held elsewhere (or by a dead worker) to end."""
        pk, max_attempts = self.batch.pk, self.limits.max_attempts
        await sync_to_async(leases.items_give_up)(batch_pk=pk, max_attempts=max_attempts)
        await sync_to_async(lifecycle.items_abandoned_cancel)(batch_pk=pk)
        if await sync_to_async(lifecycle.batch_finish)(batch_pk=pk):
            await progress_publish(self.batch.public_id)
            return SliceEnd.FINISHED
        if await sync_to_async(lifecycle.batch_ended)(batch_pk=pk):
            return SliceEnd.GONE  # finished elsewhere: polling it until the slice's time is up held a worker
        if time.monotonic() >= self.deadline:
            return SliceEnd.CONTINUE
        self._quiet_until = 0.0
        return None

    async def _process(self, item: LeasedItem) -> None:
        try:
            run = await self._run(item)
            self._adapt(overloaded=run.end == ItemEnd.OVERLOADED)
            if run.end == ItemEnd.OVERLOADED:
                await sync_to_async(leases.item_retry_later)(item=item, delay_s=OVERLOAD_DELAY_S, count_attempt=False)
            elif run.end == ItemEnd.RETRY:
                await sync_to_async(leases.item_retry_later)(item=item, delay_s=float(item.attempts))
            else:
                self.nudger.nudge()
        except Exception:  # the store failed: the lease expires and the item runs again, uncharged
            logger.exception("batch %s item %s could not be settled", self.batch.public_id, item.index)
        finally:
            self.held.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self.wake.set()

    async def _run(self, item: LeasedItem) -> ItemRun:
        endpoint = ENDPOINTS_BY_PATH[item.endpoint]

        async def work(exchange: Exchange) -> Result:
            return await endpoint.call(exchange, item.body)

        def finish(response: dict[str, Any] | None, error: dict[str, Any] | None, usage: Usage | None) -> bool:
            return leases.item_finish(item=item, batch_pk=self.batch.pk, response=response, error=error, usage=usage)

        return await run_batch_item(
            principal=self.principal,
            request_id=item_request_id(batch_public_id=self.batch.public_id, index=item.index),
            path=item.endpoint,
            work=work,
            finish=finish,
            last_attempt=item.attempts >= self.limits.max_attempts,
        )

    def _adapt(self, *, overloaded: bool) -> None:
        if overloaded:
            self.limit = max(1.0, self.limit - 1)
        else:
            self.limit = min(float(self.limits.concurrency), self.limit + 1 / self.limit)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.limits.lease_s / 3)
            held = list(self.held.values())
            await sync_to_async(leases.leases_renew)(batch_pk=self.batch.pk, held=held, lease_s=self.limits.lease_s)

    async def _drain(self) -> None:
        """On the way out (normal or not), let running items settle; cancelled, they just expire."""
        if self.held:
            await asyncio.gather(*self.held, return_exceptions=True)
