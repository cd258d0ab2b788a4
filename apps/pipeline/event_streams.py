"""Streams of named events, as the exchange walks them: a generation's `chunk`s and `done`, a batch's
`progress` and `done`. The exchange renders each event in its door's shape (SSE, WebSocket frame),
keeps idle streams alive with pings, and stops a stream when the client asks it to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, Protocol

from apps.backends.base import Usage

Event = tuple[str, Any]  # (name, data): ("chunk", {...}), ("done", {...}), ("progress", {...})


class EventSource(Protocol):
    """What an endpoint streams. Iterating it yields events; closing the iterator stops the work
    behind it (an engine's generation, a batch subscription)."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    @property
    def finished(self) -> bool:
        """The source ended on its own, with its last event."""
        ...

    def usage(self) -> Usage | None:
        """What it produced so far, to charge whatever way it ends; None: nothing to charge."""
        ...

    def stopped(self) -> Event | None:
        """The last event to send when the client stops the stream early (WebSocket `cancel`)."""
        ...


async def with_pings[T](
    items: AsyncIterable[T], interval: float, *, stop: asyncio.Event | None = None
) -> AsyncGenerator[T | None]:
    """The items, and None whenever `interval` seconds pass without one (a ping: proxies close
    silent streams). Ends early once `stop` is set. Closing this closes `items` too, which stops
    an engine's generation."""
    iterator = aiter(items)
    pending: asyncio.Future[T] | None = None
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while True:
            pending = pending or asyncio.ensure_future(anext(iterator))
            waiting: set[asyncio.Future[Any]] = {pending} if stopping is None else {pending, stopping}
            done, _ = await asyncio.wait(waiting, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            if pending not in done:
                if stopping is not None and stopping in done:
                    return
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        for future in (pending, stopping):
            if future is None:
                continue
            if not future.done():
                future.cancel()
                with contextlib.suppress(BaseException):
                    await future
            elif not future.cancelled():
                future.exception()  # retrieved: the stream ended (a stop raced its last item), no warning
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
