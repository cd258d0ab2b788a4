"""How an OpenAI-compatible upstream's failures become our closed set of errors (docs/api-
contract.md, "Errors"; docs/architecture.md, "Backends").

refused (or dropped before any response) → 503 service_unavailable; timeout → 504; 5xx, garbage, or
a connection dropped mid-response → 502; the upstream's own 429/503 → 503 model_overloaded with its
Retry-After. A 400-class answer is about the caller's request (too long, bad parameter), so it stays
a 400 with the upstream's sentence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import aiohttp

from apps.backends.overload import model_overloaded
from apps.core.errors import (
    ApiError,
    InvalidRequest,
    ServiceUnavailable,
    UpstreamError,
    UpstreamTimeout,
)

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 300
DEFAULT_RETRY_AFTER_S = 1
# llama.cpp, OpenAI and vLLM spell "prompt too long" differently.
CONTEXT_MARKERS = ("exceed_context_size", "context_length_exceeded", "maximum context length")


class ContextLengthExceeded(InvalidRequest):
    """A 400 invalid_request that callers can recognise to say how long the context is."""


class UpstreamStatus(Exception):
    """The HTTP status an upstream answered with, chained (`raise … from`) as the cause of the error
    it became, so that health checks can tell a replica's 5xx from a 404 about our configuration."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def error_for_exception(exc: BaseException, *, before_response: bool = False) -> ApiError:
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout()
    # Refused, or reset/closed before a response began (a dying server, a stale pooled connection):
    # nothing was generated, so "retry shortly" is true, and the local engine gets restarted.
    if isinstance(exc, aiohttp.ClientConnectorError) or before_response:
        return ServiceUnavailable("The model backend is not reachable; retry shortly.")
    return UpstreamError("The connection to the model backend failed mid-response.")


def error_for_status(status: int, body: bytes, headers: Mapping[str, str]) -> ApiError:
    if status in (429, 503):
        return model_overloaded(_retry_after_s(headers))
    if status in (408, 504):
        return UpstreamTimeout()
    if status in (400, 413, 422):
        return _invalid_request(body)
    # 401/403/404 mean our configuration is wrong (key, model name, URL): the client can't fix it.
    logger.warning("model backend answered HTTP %s: %.200r", status, body)
    return UpstreamError()


def _invalid_request(body: bytes) -> InvalidRequest:
    message = _upstream_message(body)
    if any(marker in body.decode("utf-8", "replace") for marker in CONTEXT_MARKERS):
        return ContextLengthExceeded(message)
    return InvalidRequest(message)


def _upstream_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
        error = payload.get("error", payload)
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    text = message if isinstance(message, str) and message else "The model backend rejected the request."
    return text[:MAX_MESSAGE_CHARS]


def _retry_after_s(headers: Mapping[str, str]) -> int:
    # Only delta-seconds are passed on: an HTTP-date would need the upstream's clock.
    value = headers.get("Retry-After", "").strip()
    return int(value) if value.isdigit() else DEFAULT_RETRY_AFTER_S
