"""The operator's dashboard on the admin index: traffic charts for the last hour or day, top
customers, and each customer's limit against its current usage.

Traffic figures are cached for a few seconds (per window, in the shared cache) so that a room
full of operators reloading the index costs one set of queries; limits are always read fresh,
because an operator who just changed one wants to see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.utils.safestring import SafeString

from .charts import Series, bar_chart
from .limit_usage import CustomerLimit, customer_limits
from .traffic import WINDOWS, Traffic, traffic_summary

logger = logging.getLogger(__name__)

CACHE_SECONDS = {"hour": 10, "day": 60}
GREEN, AMBER, RED, LIGHT_BLUE, BLUE = "#5a9e6f", "#e0a030", "#d0503c", "#9cc3e6", "#2f6ea5"


@dataclass(frozen=True, slots=True)
class Dashboard:
    traffic: Traffic
    limits: list[CustomerLimit]
    charts: dict[str, SafeString]


def dashboard_build(*, window_name: str, now: datetime) -> Dashboard:
    window = WINDOWS.get(window_name, WINDOWS["hour"])
    traffic = _cached(f"request_logs:traffic:{window.name}", CACHE_SECONDS[window.name], window=window, now=now)
    return Dashboard(traffic=traffic, limits=customer_limits(now=now), charts=_charts(traffic))


def _cached(key: str, seconds: int, **arguments: Any) -> Traffic:
    try:
        hit = cache.get(key)
    except Exception:  # a cache outage must not take the admin index down
        logger.warning("dashboard: cache unavailable")
        hit = None
    if isinstance(hit, Traffic):
        return hit
    traffic = traffic_summary(**arguments)
    try:
        cache.set(key, traffic, seconds)
    except Exception:
        logger.warning("dashboard: cache unavailable")
    return traffic


def _charts(traffic: Traffic) -> dict[str, SafeString]:
    buckets = traffic.buckets
    minutes = traffic.window.bucket.total_seconds() / 60
    fmt = "%H:%M"
    labels = [bucket.start.strftime(fmt) for bucket in buckets]

    def per_minute(field: str) -> list[float]:
        return [getattr(bucket, field) / minutes for bucket in buckets]

    def error_rate(field: str) -> list[float]:
        return [100 * getattr(b, field) / b.requests if b.requests else 0.0 for b in buckets]

    successes = [b.requests - b.client_errors - b.server_errors for b in buckets]
    return {
        "requests": bar_chart(
            title="Requests per minute",
            labels=labels,
            unit="/min",
            series=[
                Series("2xx", [value / minutes for value in successes], GREEN),
                Series("4xx", per_minute("client_errors"), AMBER),
                Series("5xx", per_minute("server_errors"), RED),
            ],
        ),
        "errors": bar_chart(
            title="Error rate",
            labels=labels,
            unit="%",
            series=[Series("5xx", error_rate("server_errors"), RED), Series("4xx", error_rate("client_errors"), AMBER)],
        ),
        "latency": bar_chart(
            title="Latency p50 and p95",
            labels=labels,
            unit=" ms",
            stacked=False,
            series=[
                Series("p95", [b.latency_ms(0.95) or 0.0 for b in buckets], LIGHT_BLUE),
                Series("p50", [b.latency_ms(0.5) or 0.0 for b in buckets], BLUE),
            ],
        ),
    }
