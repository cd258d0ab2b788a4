"""Server-Sent Events streams, sync (`Stream`) and async (`AsyncStream`).

A stream yields its items (completion `chunk`s, or a batch's `progress`), `final()` is the data of
its `done` event, and an `error` event is raised as the typed error of its code. Closing it (the
`with` block's end, `close()`, or leaving a `for` loop early in CPython) closes the connection, and
the server stops generating. A stream is never retried once its response began (see _retry.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
from typing_extensions import Self

from ._errors import APIConnectionError, APIError, APIUserAbortError, error_from_stream_event
from ._http import connection_error
from ._models import APIModel
from ._parse import parse
from ._response import ResponseMeta
from ._sse import SSEDecoder

ItemT = TypeVar("ItemT", bound=APIModel)
FinalT = TypeVar("FinalT", bound=APIModel)


@dataclass(frozen=True, slots=True)
class StreamEvents:
    """Which event carries the items, and which one ends the stream with the final data."""

    item: str
    final: str


COMPLETION_EVENTS = StreamEvents(item="chunk", final="done")
BATCH_EVENTS = StreamEvents(item="progress", final="done")


class _EventReader(Generic[ItemT, FinalT]):
    """What both kinds of stream share: SSE lines in, items out, the final data, the outcome."""

    def __init__(
        self, response: httpx.Response, item_type: type[ItemT], final_type: type[FinalT], events: StreamEvents
    ) -> None:
        self.response = response
        self.item_type = item_type
        self.final_type = final_type
        self.events = events
        self.decoder = SSEDecoder()
        self.final: FinalT | None = None
        self.error: APIError | None = None
        self.iterated = False

    @property
    def settled(self) -> bool:
        return self.final is not None or self.error is not None

    def start(self) -> None:
        if self.iterated:
            raise RuntimeError("A stream can be iterated once; use final() for its end.")
        self.iterated = True

    def on_line(self, line: str) -> ItemT | None:
        """The item that `line` completes, if any; sets `final` on the final event."""
        event = self.decoder.feed(line)
        if event is None:
            return None
        envelope = self._json(event.data)
        if event.event == self.events.item:
            return parse(self.item_type, envelope.get("data"), self.response)
        if event.event == self.events.final:
            self.final = parse(self.final_type, envelope.get("data"), self.response)
        elif event.event == "error":
            raise error_from_stream_event(envelope, self.response.headers)
        return None  # other event types may be added to the contract: old SDKs skip them

    def failed(self, exc: Exception) -> APIError:
        """Records and returns the typed error of what interrupted the stream."""
        if isinstance(exc, APIError):
            error = exc
        elif isinstance(exc, httpx.TransportError):
            error = connection_error(exc)
        elif isinstance(exc, httpx.StreamError):  # read after close(): the caller stopped it
            error = self.aborted()
        else:
            raise exc
        self.error = self.error or error
        return self.error

    def ended_early(self) -> APIConnectionError:
        return APIConnectionError(
            f"The stream ended before its {self.events.final} event.",
            request_id=self.response.headers.get("x-request-id"),
            headers=self.response.headers,
        )

    def aborted(self) -> APIUserAbortError:
        return APIUserAbortError("The stream was closed before its done event.")

    def outcome(self) -> FinalT:
        if self.error is not None:
            raise self.error
        if self.final is None:
            raise RuntimeError("final() is known once the loop over the stream has ended (or close() it).")
        return self.final

    def _json(self, data: str) -> dict[str, Any]:
        try:
            envelope = json.loads(data)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            raise APIError("The stream sent an event that is not a JSON envelope.", headers=self.response.headers)
        return envelope


class Stream(Generic[ItemT, FinalT]):
    """Iterate it for the items; `final()` for the data of its end. Use it in a `with` block (or
    `close()` it) to stop early: the connection closes and the server stops generating."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        meta: ResponseMeta,
        item_type: type[ItemT],
        final_type: type[FinalT],
        events: StreamEvents = COMPLETION_EVENTS,
    ) -> None:
        self._reader = _EventReader(response, item_type, final_type, events)
        self._meta = meta

    @property
    def response_meta(self) -> ResponseMeta:
        """Request id and rate-limit state, from the headers of the 200."""
        return self._meta

    def __iter__(self) -> Iterator[ItemT]:
        self._reader.start()
        return self._items()

    def _items(self) -> Iterator[ItemT]:
        reader = self._reader
        try:
            for line in reader.response.iter_lines():
                item = reader.on_line(line)
                if item is not None:
                    yield item
                elif reader.final is not None:
                    return
            raise reader.ended_early()
        except Exception as exc:
            error = reader.failed(exc)
            if error is exc:
                raise
            raise error from exc
        finally:  # also when the caller left the loop early (GeneratorExit)
            if not reader.settled:
                reader.error = reader.aborted()
            reader.response.close()

    def final(self) -> FinalT:
        """The `done` event's data; reads the rest of the stream if nobody iterated it."""
        if not self._reader.iterated:
            for _ in self:
                pass
        return self._reader.outcome()

    def close(self) -> None:
        """Stops reading and closes the connection; the server cancels the generation."""
        if not self._reader.settled:
            self._reader.error = self._reader.aborted()
        self._reader.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class AsyncStream(Generic[ItemT, FinalT]):
    """`async for` it for the items; `await final()` for the data of its end. Use `async with` (or
    `await close()`) to stop early: the connection closes and the server stops generating."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        meta: ResponseMeta,
        item_type: type[ItemT],
        final_type: type[FinalT],
        events: StreamEvents = COMPLETION_EVENTS,
    ) -> None:
        self._reader = _EventReader(response, item_type, final_type, events)
        self._meta = meta

    @property
    def response_meta(self) -> ResponseMeta:
        """Request id and rate-limit state, from the headers of the 200."""
        return self._meta

    def __aiter__(self) -> AsyncIterator[ItemT]:
        self._reader.start()
        return self._items()

    async def _items(self) -> AsyncIterator[ItemT]:
        reader = self._reader
        try:
            async for line in reader.response.aiter_lines():
                item = reader.on_line(line)
                if item is not None:
                    yield item
                elif reader.final is not None:
                    return
            raise reader.ended_early()
        except Exception as exc:
            error = reader.failed(exc)
            if error is exc:
                raise
            raise error from exc
        finally:
            if not reader.settled:
                reader.error = reader.aborted()
            await reader.response.aclose()

    async def final(self) -> FinalT:
        """The `done` event's data; reads the rest of the stream if nobody iterated it."""
        if not self._reader.iterated:
            async for _ in self:
                pass
        return self._reader.outcome()

    async def close(self) -> None:
        """Stops reading and closes the connection; the server cancels the generation."""
        if not self._reader.settled:
            self._reader.error = self._reader.aborted()
        await self._reader.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()
