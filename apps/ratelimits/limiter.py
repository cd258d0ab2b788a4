"""Atomic per-second counting on the shared cache with django-ratelimit's counting core.

`get_usage` does `add` + `incr` on the cache named by RATELIMIT_USE_CACHE (Redis in production),
so a limit holds across every worker and machine. What a cache outage does is a setting
(RATE_LIMIT_FAIL_OPEN): let the request through, or answer 503. Either way it is logged, never a 500.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage

from apps.core.errors import RateLimited, ServiceUnavailable

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
    counted: bool = True  # False when the shared cache could not be reached


def rate_limit_consume(*, key: str, limit: int) -> RateLimitState:
    """Count one request against `key` in the current one-second window."""
    try:
        # get_usage needs no request when the key is a callable and every method counts.
        usage = get_usage(
            None, group=GROUP, key=lambda _group, _request: key, rate=(limit, WINDOW_SECONDS), increment=True
        )
    except Exception:
        usage = None
    # django-ratelimit answers a count it could not make with a count of 0 (a real one, incremented,
    # is at least 1) and time left -1. A time left of -1 alone is a real count: the second turned
    # between its two clock readings, so the window it counted in has just ended.
    if usage is None or usage["count"] == 0:
        logger.warning("rate limit: shared cache unavailable (fail_open=%s)", settings.RATE_LIMIT_FAIL_OPEN)
        return RateLimitState(limit=limit, remaining=limit, reset_seconds=WINDOW_SECONDS, counted=False)
    # django-ratelimit names a window by the last whole second it counts; it ends a second later.
    now = time.time()
    reset_ms = max(1, math.ceil((int(now) + usage["time_left"] + 1 - now) * 1000))
    return RateLimitState(
        limit=limit,
        remaining=max(0, limit - usage["count"]),
        reset_seconds=math.ceil(reset_ms / 1000),
        reset_ms=reset_ms,
        exceeded=usage["should_limit"],
    )


def anonymous_limit_key(client_ip: str) -> str:
    """Requests without a valid token are counted per client IP, under this key."""
    return f"ip:{client_ip}"


def rate_limit_exhausted(*, key: str, limit: int) -> bool:
    """Whether `key` has used its whole budget in the current window. Counts nothing."""
    try:
        usage = get_usage(
            None, group=GROUP, key=lambda _group, _request: key, rate=(limit, WINDOW_SECONDS), increment=False
        )
    except Exception:
        return False  # cannot tell; the counting step applies the fail-open setting
    return usage is not None and usage["time_left"] >= 0 and usage["count"] >= limit


def rate_limit_enforce(state: RateLimitState) -> None:
    if not state.counted and not settings.RATE_LIMIT_FAIL_OPEN:
        raise ServiceUnavailable("Rate limiting is unavailable; retry shortly.", headers={"Retry-After": "1"})
    if state.exceeded:
        raise RateLimited(headers={"Retry-After": str(state.reset_seconds), "Retry-After-Ms": str(state.reset_ms)})
