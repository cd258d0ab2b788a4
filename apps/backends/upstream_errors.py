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
import re
from collections.abc import Mapping
from typing import Any

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


# What upstreams say about the sizes: llama.cpp's fields and sentence, then OpenAI's and vLLM's sentences
# ("…maximum context length is 2048 tokens. However, you requested 4000 tokens (3000 in the messages,
# 1000 in the completion)" or "…your messages resulted in 5000 tokens").
PROMPT_FIGURES = (r"request \((\d+) tokens\)", r"\((\d+) in the messages", r"resulted in (\d+) tokens")
CONTEXT_FIGURES = (r"available context size \((\d+) tokens\)", r"maximum context length is (\d+) tokens")


class ContextLengthExceeded(InvalidRequest):
    """A 400 invalid_request that callers can recognise, with the sizes the upstream stated (if any),
    so that the message can say both the prompt's size and the context's (`context_message`)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        prompt_tokens: int | None = None,
        context_tokens: int | None = None,
    ) -> None:
        super().__init__(message, param=param)
        self.prompt_tokens, self.context_tokens = prompt_tokens, context_tokens


def context_message(*, prompt_tokens: int | None, context_tokens: int | None, max_tokens: int, fallback: str) -> str:
    """Says the prompt's size and the context's ("The prompt has 4,000 tokens; this model's context is 2,048."),
    as far as they are known."""
    if prompt_tokens is None:
        return fallback
    if context_tokens is None:
        return f"The prompt has {prompt_tokens:,} tokens, more than this model's context allows ({fallback})"
    if prompt_tokens >= context_tokens:
        return f"The prompt has {prompt_tokens:,} tokens; this model's context is {context_tokens:,}."
    # Some servers (vLLM, OpenAI) count the answer's max_tokens into the context too.
    return (
        f"The prompt has {prompt_tokens:,} tokens and max_tokens is {max_tokens:,}; together they exceed "
        f"this model's context of {context_tokens:,} tokens."
    )


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
    text = body.decode("utf-8", "replace")
    if any(marker in text for marker in CONTEXT_MARKERS):
        error = _error_object(body)
        return ContextLengthExceeded(
            message,
            prompt_tokens=_figure(error.get("n_prompt_tokens"), text, PROMPT_FIGURES),
            context_tokens=_figure(error.get("n_ctx"), text, CONTEXT_FIGURES),
        )
    return InvalidRequest(message)


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    error = payload.get("error", payload) if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _figure(field: object, text: str, patterns: tuple[str, ...]) -> int | None:
    if isinstance(field, int) and not isinstance(field, bool) and field > 0:
        return field
    for pattern in patterns:
        found = re.search(pattern, text)
        if found:
            return int(found.group(1))
    return None


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
