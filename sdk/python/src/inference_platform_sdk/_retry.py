"""When to try a request again, and how long to wait first. Pure functions: the sync and the async
clients share them (docs: sdk/python/README.md, "Retries and idempotency").

Every POST carries one Idempotency-Key for all its attempts, so a retry of a request that did run
is answered from the server's stored response instead of running (and charging) again. A stream is
different: once its response began the caller may hold part of the output, so a POST stream is
retried only when no response arrived at all."""

from __future__ import annotations

import math
import random as _random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import httpx

from ._errors import APIConnectionError, APIError, APIUserAbortError

INITIAL_DELAY_S = 0.5
MAX_BACKOFF_S = 8.0
# A server hint beyond this is not worth blocking the caller for; back off instead.
MAX_SERVER_DELAY_S = 60.0


def is_retryable(error: BaseException, *, stream: bool) -> bool:
    if isinstance(error, APIUserAbortError):
        return False
    if isinstance(error, APIConnectionError):
        return True  # no response: nothing was delivered
    if stream or not isinstance(error, APIError) or error.status is None:
        return False
    if error.status == 409:
        return error.code == "idempotency_request_in_progress"
    return error.status == 429 or error.status >= 500


def retry_delay(
    error: BaseException,
    *,
    retries_so_far: int,
    max_retries: int,
    stream: bool,
    random: Callable[[], float] = _random.random,
    now: Callable[[], float] = time.time,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up and raise `error`."""
    if retries_so_far >= max_retries or not is_retryable(error, stream=stream):
        return None
    headers = error.headers if isinstance(error, APIError) else None
    hinted = server_delay(headers, now=now()) if headers is not None else None
    if hinted is not None and 0 <= hinted <= MAX_SERVER_DELAY_S:
        return hinted + hinted * 0.1 * random()  # never earlier than asked; spread a crowd a little
    return backoff(retries_so_far, random=random)


def backoff(retries_so_far: int, *, random: Callable[[], float] = _random.random) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 8 s, each shortened by up to 25%."""
    base = min(INITIAL_DELAY_S * 2.0**retries_so_far, MAX_BACKOFF_S)
    return base * (1 - 0.25 * random())


def server_delay(headers: httpx.Headers, *, now: float) -> float | None:
    """The server's own hint in seconds, most precise first: Retry-After-Ms, Retry-After (seconds
    or an HTTP date), then X-RateLimit-Reset when the window is used up."""
    milliseconds = _number(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _number(retry_after)
        if seconds is not None:
            return seconds
        try:
            return max(0.0, float(parsedate_to_datetime(retry_after).timestamp()) - now)
        except (TypeError, ValueError):
            pass
    reset = _number(headers.get("x-ratelimit-reset"))
    if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
        return reset
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
