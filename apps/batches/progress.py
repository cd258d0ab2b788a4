"""Batch progress across processes: workers nudge, readers re-read the database.

A worker sends a content-free nudge to the channel-layer group `batch.<id>` after items settle
(at most every NUDGE_INTERVAL_S, and always after the last one). A reader (`batch_progress_events`,
used by the SSE endpoint and open to the WebSocket consumer) re-reads the batch on each nudge and
emits an event when status or counts moved. The database stays the one source of truth, so nudges
may be lost, duplicated or reordered without harm; a reader also re-reads every SAFETY_POLL_S.

The in-memory channel layer (the embedded default) only reaches its own process, and the worker
is another process: there readers poll the database every BATCH_EVENTS_POLL_SECONDS instead.

`BatchProgress` is what the pipeline streams (over SSE, `GET /v1/batches/{id}/events`, and over
the WebSocket, `batch.subscribe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from apps.backends.base import Usage
from apps.core.errors import NotFound
from apps.pipeline.event_streams import Event

from .models import BatchJob
from .serializers import BatchSerializer

logger = logging.getLogger(__name__)

NUDGE_INTERVAL_S = 0.1
SAFETY_POLL_S = 5.0
NUDGE = {"type": "batch.progress"}


def progress_group(public_id: str) -> str:
    return f"batch.{public_id}"


class ProgressNudger:
    """Trailing-edge throttle: a burst of settled items becomes one nudge, and the last is never lost."""

    def __init__(self, public_id: str) -> None:
        self.group = progress_group(public_id)
        self.layer = get_channel_layer()
        self._last = 0.0
        self._pending: asyncio.Task[None] | None = None

    def nudge(self) -> None:
        if self.layer is None or isinstance(self.layer, InMemoryChannelLayer) or self._pending is not None:
            return
        delay = max(0.0, self._last + NUDGE_INTERVAL_S - time.monotonic())
        self._pending = asyncio.create_task(self._send_after(delay))

    async def flush(self) -> None:
        """Send what is due now (the slice is ending)."""
        if self._pending is not None:
            with contextlib.suppress(Exception):
                await self._pending

    async def _send_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending = None
        self._last = time.monotonic()
        try:
            await self.layer.group_send(self.group, NUDGE)
        except Exception:  # a lost nudge only delays an update until the reader's next poll
            logger.warning("batch progress nudge to %s failed", self.group, exc_info=True)


async def progress_publish(public_id: str) -> None:
    """One immediate nudge (a state change outside a worker's slice: cancel, finish, fail)."""
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return
    try:
        await layer.group_send(progress_group(public_id), NUDGE)
    except Exception:
        logger.warning("batch progress nudge for %s failed", public_id, exc_info=True)


def batch_snapshot(*, public_id: str, customer_id: int) -> dict[str, Any]:
    try:
        batch = BatchJob.objects.filter(public_id=public_id, customer_id=customer_id).first()
        if batch is None:
            raise NotFound(f"No batch '{public_id}'.")
        return dict(BatchSerializer(batch).data)
    finally:
        close_old_connections()  # called from a thread pool, not a request: release the connection


class BatchProgress:
    """An `EventSource`: `progress` events, then `done` with the terminal batch. Costs nothing."""

    def __init__(self, *, public_id: str, customer_id: int, first: dict[str, Any]) -> None:
        self.public_id, self.customer_id = public_id, customer_id
        self.finished = False
        self._last = first  # the batch as last seen

    @classmethod
    async def start(cls, *, public_id: str, customer_id: int) -> BatchProgress:
        """Raises NotFound for a batch the customer does not own, before anything is answered."""
        snapshot = sync_to_async(batch_snapshot, thread_sensitive=False)
        first = await snapshot(public_id=public_id, customer_id=customer_id)
        return cls(public_id=public_id, customer_id=customer_id, first=first)

    async def __aiter__(self) -> AsyncIterator[Event]:
        events = batch_progress_events(public_id=self.public_id, customer_id=self.customer_id)
        async with contextlib.aclosing(events):
            async for item in events:
                self._last = item["data"]
                self.finished = item["event"] == "done"
                yield item["event"], item["data"]

    def usage(self) -> Usage | None:
        return None

    def stopped(self) -> Event:
        """A subscription stopped by the client ends with `done` and the batch as last seen."""
        return "done", self._last


async def batch_progress_events(*, public_id: str, customer_id: int) -> AsyncGenerator[dict[str, Any]]:
    """`{"event": "progress", "data": <Batch>}` whenever status or counts change, then
    `{"event": "done", "data": <Batch>}` once the batch is terminal. Raises NotFound for a batch
    the customer does not own (before yielding anything)."""
    snapshot = sync_to_async(batch_snapshot, thread_sensitive=False)
    async with _wakeups(public_id) as wait:
        last: tuple[Any, ...] | None = None
        while True:
            batch = await snapshot(public_id=public_id, customer_id=customer_id)
            if batch["status"] in BatchJob.TERMINAL:
                yield {"event": "done", "data": batch}
                return
            state = (batch["status"], tuple(batch["counts"].values()))
            if state != last:
                last = state
                yield {"event": "progress", "data": batch}
            await wait()


@contextlib.asynccontextmanager
async def _wakeups(public_id: str) -> AsyncIterator[Any]:
    """A `wait()` that returns on the next nudge or after the poll interval."""
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        yield lambda: asyncio.sleep(settings.BATCH_EVENTS_POLL_SECONDS)
        return
    group, channel = progress_group(public_id), await layer.new_channel()
    await layer.group_add(group, channel)

    async def wait() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), SAFETY_POLL_S)

    try:
        yield wait
    finally:
        with contextlib.suppress(Exception):
            await layer.group_discard(group, channel)
