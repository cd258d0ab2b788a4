"""The response envelope (DESIGN §3.1): `{"data", "error", "meta"}` on every `/v1/` response and
on every streamed event. Exactly one of `data` and `error` is null."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .ids import prefixed_id


def new_request_id() -> str:
    return prefixed_id("req")


def utc_timestamp(now: datetime | None = None) -> str:
    """RFC 3339 in UTC with a `Z`, to the second."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_meta(*, request_id: str, **extra: Any) -> dict[str, Any]:
    return {"request_id": request_id, "timestamp": utc_timestamp(), **extra}


def success(data: Any, *, request_id: str, **meta: Any) -> dict[str, Any]:
    return {"data": data, "error": None, "meta": build_meta(request_id=request_id, **meta)}


def failure(error: dict[str, Any], *, request_id: str, **meta: Any) -> dict[str, Any]:
    return {"data": None, "error": error, "meta": build_meta(request_id=request_id, **meta)}
