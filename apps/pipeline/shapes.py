"""The shape of what a client gets back, one per door: the `/v1` envelope as JSON and as Server-Sent
Events, WebSocket frames, a batch item's result. The exchange decides what to say (data, an error,
an event); a shape only says how it looks on that door's wire.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from rest_framework.utils.encoders import JSONEncoder

from apps.core.envelope import failure, success
from apps.core.errors import ApiError
from apps.ratelimits.headers import rate_limit_meta

if TYPE_CHECKING:
    from .exchange import Exchange

PING = ": ping\n\n"
_encoder = JSONEncoder()  # DRF's: dates, decimals, lazy strings, for whatever a serializer leaves


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON. `default=` keeps the C encoder (a JSONEncoder subclass as `cls` measured
    twice as slow); NaN and infinities are refused, as JSON has neither."""
    return json.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_encoder.default
    ).encode()


class Shape(Protocol):
    content_type: str  # of a whole answer
    stream_content_type: str  # of a streamed answer

    def data(self, exchange: Exchange, data: Any) -> Any: ...

    def error(self, exchange: Exchange, error: ApiError) -> Any: ...

    def event(self, exchange: Exchange, name: str, data: Any) -> Any: ...

    def error_event(self, exchange: Exchange, error: ApiError) -> Any: ...

    def ping(self) -> Any | None: ...


def sse(event: str, payload: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n"


class Envelope:
    """`/v1` over HTTP: `{"data", "error", "meta"}` as JSON; streams as Server-Sent Events, one
    envelope per event (docs/api-contract.md, docs/streaming.md)."""

    content_type = "application/json"
    stream_content_type = "text/event-stream"

    def data(self, exchange: Exchange, data: Any) -> bytes:
        return json_bytes(success(data, request_id=exchange.request_id))

    def error(self, exchange: Exchange, error: ApiError) -> bytes:
        return json_bytes(failure(error.as_dict(), request_id=exchange.request_id))

    def event(self, exchange: Exchange, name: str, data: Any) -> str:
        return sse(name, success(data, request_id=exchange.request_id))

    def error_event(self, exchange: Exchange, error: ApiError) -> str:
        return sse("error", failure(error.as_dict(), request_id=exchange.request_id))

    def ping(self) -> str:
        return PING


class Frames:
    """`/v1/stream` over a WebSocket: each frame an envelope whose `meta` names the stream it belongs
    to, the event, and the rate-limit state (frames cannot carry headers)."""

    content_type = stream_content_type = "application/json"

    def __init__(self, stream_id: str | None) -> None:
        self.stream_id = stream_id

    def data(self, exchange: Exchange, data: Any) -> str:
        return self.event(exchange, "done", data)

    def error(self, exchange: Exchange, error: ApiError) -> str:
        return self._frame(exchange, "error", failure(error.as_dict(), request_id=exchange.request_id))

    def event(self, exchange: Exchange, name: str, data: Any) -> str:
        return self._frame(exchange, name, success(data, request_id=exchange.request_id))

    def error_event(self, exchange: Exchange, error: ApiError) -> str:
        return self.error(exchange, error)

    def ping(self) -> None:
        return None  # WebSocket has its own keep-alive

    def _frame(self, exchange: Exchange, event: str, envelope: dict[str, Any]) -> str:
        envelope["meta"].update(stream_id=self.stream_id, event=event)
        if exchange.rate_limit is not None:
            envelope["meta"]["rate_limit"] = rate_limit_meta(exchange.rate_limit)
        return json.dumps(envelope, separators=(",", ":"), default=str)


class ItemResult:
    """A batch item: its result is what the endpoint answers in `data`, or the error object."""

    content_type = stream_content_type = "application/json"

    def data(self, exchange: Exchange, data: Any) -> dict[str, Any]:
        return dict(data)

    def error(self, exchange: Exchange, error: ApiError) -> dict[str, Any]:
        return error.as_dict()

    def event(self, exchange: Exchange, name: str, data: Any) -> Any:
        raise TypeError("batch items do not stream")

    def error_event(self, exchange: Exchange, error: ApiError) -> Any:
        raise TypeError("batch items do not stream")

    def ping(self) -> None:
        return None
