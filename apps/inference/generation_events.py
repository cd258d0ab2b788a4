"""A generation as the pipeline streams it: a `chunk` event per piece of text, then `done` with the
finish reason and the usage. Over SSE and WebSocket alike (apps/pipeline/event_streams.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from apps.backends.base import StreamEnd, StreamEvent, TextDelta, Usage
from apps.core.errors import UpstreamError
from apps.pipeline.event_streams import Event
from apps.usage.charges import Charge


def usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


class GenerationEvents:
    """An `EventSource` over a backend's stream. `charge` is the stream's cost with zero usage;
    the pipeline fills in `usage()` when the stream ends, however it ends."""

    def __init__(self, first: StreamEvent, rest: AsyncIterator[StreamEvent], *, charge: Charge) -> None:
        self._first: StreamEvent | None = first
        self._rest = rest
        self.charge = charge
        self.finished = False
        self._deltas = 0
        self._final: Usage | None = None

    @classmethod
    async def start(cls, stream: AsyncIterator[StreamEvent], *, charge: Charge) -> GenerationEvents:
        """Waits for the first item before answering, so that failures before any token (prompt too
        long, model overloaded, engine down) are proper HTTP errors, not an error event after a 200."""
        iterator = aiter(stream)
        try:
            first = await anext(iterator)
        except StopAsyncIteration:
            await _close(iterator)
            raise UpstreamError("The model backend ended the stream without an answer.") from None
        except BaseException:
            await _close(iterator)
            raise
        return cls(first, iterator, charge=charge)

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield self._event(first)
            async for item in self._rest:
                yield self._event(item)
        finally:
            await _close(self._rest)  # closing the backend's stream stops the engine's generation

    def usage(self) -> Usage | None:
        if self._final is not None:
            return self._final
        return Usage(prompt_tokens=0, completion_tokens=self._deltas) if self._deltas else None

    def stopped(self) -> Event:
        return "done", {"finish_reason": "cancelled", "usage": usage_dict(self.usage() or Usage(prompt_tokens=0))}

    def _event(self, item: StreamEvent) -> Event:
        if isinstance(item, TextDelta):
            self._deltas += 1
            return "chunk", {"index": 0, "delta": item.text}
        assert isinstance(item, StreamEnd)
        self._final, self.finished = item.usage, True
        return "done", {"finish_reason": item.finish_reason, "usage": usage_dict(item.usage)}


async def _close(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
