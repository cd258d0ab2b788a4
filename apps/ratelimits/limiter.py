"""Atomic per-second counting on the shared cache with django-ratelimit's counting core.

`get_usage` does `add` + `incr` on the cache named by RATELIMIT_USE_CACHE (Redis in production),
so a limit holds across every worker and machine: at most `limit` requests are admitted per key
and window, a window being the whole second of the server's clock in which counting began
(docs/reliability.md states the guarantee and how it is tested).

A cache outage is never a 500. RATE_LIMIT_FAIL_OPEN chooses: count in this process alone (the
limit then holds per worker, `local_windows`, the seconds in which the cache fails or comes back
included) or answer 503. Either way it is logged.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage

from apps.core.errors import RateLimited, ServiceUnavailable

from .local_windows import local_windows

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 1
GROUP = "api"


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """Where a caller stands in the current window; becomes the rate-limit headers."""

    limit: int
    remaining: int
    reset_seconds: int
    reset_ms: int = 1000
    exceeded: bool = False
    shared: bool = True  # False: the shared cache could not be reached; counted in this process


def rate_limit_consume(*, key: str, limit: int, increment: bool = True) -> RateLimitState:
    """Count one request against `key` in the current one-second window (with `increment=False`:
    only where `key` stands, for the headers of a request that is not to be counted)."""
    counted_at = time.time()  # the second django-ratelimit names its window by (period 1)
    usage = _shared_usage(key, limit, increment=increment)
    if usage is None:
        logger.warning("rate limit: shared cache unavailable (fail_open=%s)", settings.RATE_LIMIT_FAIL_OPEN)
        now = time.time()
        count = local_windows.count(key, now=now, increment=increment)
        return _state(limit, count, window_end=int(now) + WINDOW_SECONDS, shared=False)
    count = local_windows.with_shared(key, now=counted_at, shared=usage["count"])
    # django-ratelimit names the window (int(time.time())) before its cache round trip and
    # computes `time_left` from a second clock reading after it. Under load the round trip can
    # cross into the next second: `time_left` is then -1, yet the count is a real count of the
    # named window, which has just ended. Counted all the same; its reset is now.
    now = time.time()
    return _state(limit, count, window_end=int(now) + usage["time_left"] + WINDOW_SECONDS)


def anonymous_limit_key(client_ip: str) -> str:
    """Requests without a valid token are counted per client IP, under this key."""
    return f"ip:{client_ip}"


def rate_limit_exhausted(*, key: str, limit: int) -> bool:
    """Whether `key` has used its whole budget in the current window. Counts nothing."""
    now = time.time()
    usage = _shared_usage(key, limit, increment=False)
    if usage is None:
        return local_windows.count(key, now=now, increment=False) >= limit
    return local_windows.with_shared(key, now=now, shared=usage["count"]) >= limit


def rate_limit_enforce(state: RateLimitState) -> None:
    if not state.shared and not settings.RATE_LIMIT_FAIL_OPEN:
        raise ServiceUnavailable("Rate limiting is unavailable; retry shortly.", headers={"Retry-After": "1"})
    if state.exceeded:
        raise RateLimited(headers={"Retry-After": str(state.reset_seconds), "Retry-After-Ms": str(state.reset_ms)})


def _shared_usage(key: str, limit: int, *, increment: bool) -> dict[str, Any] | None:
    """django-ratelimit's count on the shared cache, or None when the cache failed (its
    RATELIMIT_FAIL_OPEN is on, so it answers None rather than a made-up "limited")."""
    try:
        # get_usage needs no request when the key is a callable and every method counts.
        usage: dict[str, Any] | None = get_usage(
            None, group=GROUP, key=lambda _group, _request: key, rate=(limit, WINDOW_SECONDS), increment=increment
        )
    except Exception:
        return None
    return usage


def _state(limit: int, count: int, *, window_end: float, shared: bool = True) -> RateLimitState:
    reset_ms = max(1, math.ceil((window_end - time.time()) * 1000))
    return RateLimitState(
        limit=limit,
        remaining=max(0, limit - count),
        reset_seconds=math.ceil(reset_ms / 1000),
        reset_ms=reset_ms,
        exceeded=count > limit,
        shared=shared,
    )
