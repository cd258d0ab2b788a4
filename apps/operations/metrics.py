"""Prometheus metrics: request counts and latencies by endpoint and status, rate-limit
rejections, and gauges other apps register (engine queue depth, batch backlog).

The pipeline's last step calls `metrics_observe` with each request's log row. Counters live in
each process; with several workers set PROMETHEUS_MULTIPROC_DIR and `exposition_registry` merges
them (docs/operations.md).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.urls import Resolver404, resolve
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Seconds. Rejections answer in a millisecond; a long generation takes a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "api_requests", "API requests answered, by endpoint, method and status.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "api_request_duration_seconds", "Time to answer an API request.", ["endpoint", "status"], buckets=LATENCY_BUCKETS
)
RATE_LIMITED = Counter("api_rate_limited", "429 answers; kind is token or anonymous (per client IP).", ["kind"])

GaugeValue = float | Mapping[tuple[str, ...], float]


@dataclass(frozen=True, slots=True)
class GaugeSource:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], GaugeValue]


class GaugeSources(Collector):
    """Gauges read at scrape time from callables other apps register."""

    def __init__(self) -> None:
        self._sources: dict[str, GaugeSource] = {}
        self._lock = threading.Lock()

    def register(self, source: GaugeSource) -> None:
        if not METRIC_NAME.match(source.name):
            raise ValueError(f"not a Prometheus metric name: {source.name!r}")
        with self._lock:
            self._sources[source.name] = source  # re-registering replaces: safe on reloads

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = list(self._sources.values())
        for source in sources:
            try:
                value = source.read()
            except Exception:  # one broken source must not take the whole scrape down
                logger.warning("metrics: gauge source %s failed", source.name, exc_info=True)
                continue
            yield _gauge(source, value)


def _gauge(source: GaugeSource, value: GaugeValue) -> GaugeMetricFamily:
    family = GaugeMetricFamily(source.name, source.documentation, labels=source.labels)
    if isinstance(value, Mapping):
        for label_values, number in value.items():
            family.add_metric(list(label_values), float(number))
    else:
        family.add_metric([], float(value))
    return family


gauge_sources = GaugeSources()
REGISTRY.register(gauge_sources)


def register_gauge_source(
    name: str, read: Callable[[], GaugeValue], *, documentation: str, labels: tuple[str, ...] = ()
) -> None:
    """Expose `read()` as a gauge on /metrics. Without labels `read` returns a number; with
    labels, a mapping from label values to numbers. It runs at every scrape: keep it cheap."""
    gauge_sources.register(GaugeSource(name=name, documentation=documentation, labels=labels, read=read))


def metrics_observe(row: Mapping[str, Any]) -> None:
    """Count one answered request (a request-log row, before it is buffered). Never raises:
    metrics must not fail a request."""
    try:
        _observe(row)
    except Exception:
        logger.warning("metrics: could not observe a request", exc_info=True)


def _observe(row: Mapping[str, Any]) -> None:
    method = row["method"] if row["method"] in KNOWN_METHODS else "other"
    requests, latency = _series(endpoint_of(row["path"]), method, str(row["status"]))
    requests.inc()
    latency.observe(row["latency_ms"] / 1000)
    if row["status"] == 429:
        RATE_LIMITED.labels("token" if row.get("customer_id") else "anonymous").inc()


@lru_cache(maxsize=4096)
def _series(endpoint: str, method: str, status: str) -> tuple[Any, Any]:
    """The labelled children, looked up once: `labels()` takes a lock and normalises its arguments
    on every call. Bounded: endpoints are URL names, methods and statuses few."""
    return REQUESTS.labels(endpoint, method, status), LATENCY.labels(endpoint, status)


@lru_cache(maxsize=4096)
def endpoint_of(path: str) -> str:
    """The URL pattern's name: bounded label values whatever paths scanners try."""
    try:
        match = resolve(path)
    except Resolver404:
        return "unknown"
    return match.url_name or match.route or "unknown"


def exposition_registry() -> CollectorRegistry:
    """What /metrics shows: this process, or with PROMETHEUS_MULTIPROC_DIR every worker's counters."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(gauge_sources)
    return registry
