"""What a response tells besides its data: request id, rate-limit state, replay. Methods return the
envelope's `data` as typed objects; this metadata hangs off them as `.response_meta`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The `X-RateLimit-*` headers that every response carries."""

    #: Requests allowed per window.
    limit: int
    #: Requests left in the current window.
    remaining: int
    #: Whole seconds until the window resets.
    reset: int


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    status: int
    #: `req_…`; for a replay, the id of the request that executed.
    request_id: str | None
    #: When the server produced the response (`meta.timestamp`); None for streams.
    timestamp: str | None
    rate_limit: RateLimitInfo | None
    #: True when the server replayed a stored response for this Idempotency-Key.
    replayed: bool
    #: The Idempotency-Key sent (every POST has one); None for a GET.
    idempotency_key: str | None
    #: How many HTTP attempts it took (1 + retries).
    attempts: int
    headers: httpx.Headers
    #: The envelope's `meta` as sent; it may gain fields.
    envelope_meta: dict[str, Any] | None = None


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def rate_limit_from(headers: httpx.Headers) -> RateLimitInfo | None:
    limit = _header_int(headers, "x-ratelimit-limit")
    remaining = _header_int(headers, "x-ratelimit-remaining")
    reset = _header_int(headers, "x-ratelimit-reset")
    if limit is None or remaining is None or reset is None:
        return None
    return RateLimitInfo(limit=limit, remaining=remaining, reset=reset)


def response_meta(
    response: httpx.Response, *, idempotency_key: str | None, attempts: int, envelope_meta: Any = None
) -> ResponseMeta:
    headers = response.headers
    envelope = envelope_meta if isinstance(envelope_meta, dict) else None
    return ResponseMeta(
        status=response.status_code,
        request_id=headers.get("x-request-id") or (envelope or {}).get("request_id"),
        timestamp=(envelope or {}).get("timestamp"),
        rate_limit=rate_limit_from(headers),
        replayed=headers.get("idempotent-replayed") == "true",
        idempotency_key=idempotency_key,
        attempts=attempts,
        headers=headers,
        envelope_meta=envelope,
    )
