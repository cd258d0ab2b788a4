"""Helpers over `StreamEvent` streams, shared by the backends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterable

from apps.backends.base import Generation, StreamEnd, StreamEvent
from apps.core.errors import UpstreamError


async def collect_generation(stream: AsyncIterable[StreamEvent]) -> Generation:
    """A whole stream as one `Generation`."""
    pieces: list[str] = []
    async for event in stream:
        if isinstance(event, StreamEnd):
            return Generation(text="".join(pieces), finish_reason=event.finish_reason, usage=event.usage)
        pieces.append(event.text)
    raise UpstreamError("The model backend ended the stream without finishing the answer.")


async def started(stream: AsyncGenerator[StreamEvent]) -> AsyncGenerator[StreamEvent]:
    """The same stream with its first event already received, so that failing to start (a refused
    connection, say) raises here, where it can still be retried, and not at the consumer's first read."""
    first = await anext(stream)
    return _prepend(first, stream)


async def _prepend(first: StreamEvent, rest: AsyncGenerator[StreamEvent]) -> AsyncGenerator[StreamEvent]:
    async with contextlib.aclosing(rest):  # closing this closes the source, and its upstream connection
        yield first
        async for event in rest:
            yield event
