"""The response envelope (docs/api-contract.md, "Envelope"): `{"data", "error", "meta"}` on every `/v1/` response and
on every streamed event. Exactly one of `data` and `error` is null."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from .ids import prefixed_id


def new_request_id() -> str:
    return prefixed_id("req")


def utc_timestamp(now: datetime | None = None) -> str:
    """RFC 3339 in UTC with a `Z`, to the second."""
    if now is not None:
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _current_second.text()


class _CurrentSecond:
    """The timestamp of the current second, formatted once per second instead of per response
    (strftime was a visible share of a cheap request's CPU)."""

    def __init__(self) -> None:
        self._second, self._text = -1, ""

    def text(self) -> str:
        second = int(time.time())
        if second != self._second:  # racing threads may both format it: the same text either way
            self._text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._second = second
        return self._text


_current_second = _CurrentSecond()


def build_meta(*, request_id: str, **extra: Any) -> dict[str, Any]:
    return {"request_id": request_id, "timestamp": utc_timestamp(), **extra}


def success(data: Any, *, request_id: str, **meta: Any) -> dict[str, Any]:
    return {"data": data, "error": None, "meta": build_meta(request_id=request_id, **meta)}


def failure(error: dict[str, Any], *, request_id: str, **meta: Any) -> dict[str, Any]:
    return {"data": None, "error": error, "meta": build_meta(request_id=request_id, **meta)}
