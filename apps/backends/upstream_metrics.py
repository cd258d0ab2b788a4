"""What /metrics says about upstream replicas (docs/operations.md).

Errors and ejections are Prometheus counters, so with PROMETHEUS_MULTIPROC_DIR they add up over
every worker. In-flight counts and health are per worker (upstream_pool) and read at scrape time
(`register_gauge_source`, apps/inference/apps.py): they describe the worker that answered the scrape.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter

if TYPE_CHECKING:  # the pool calls `replica_failed`, so this module must not import it at run time
    from apps.backends.upstream_pool import UpstreamPool

LABELS = ("model", "replica")

ERRORS = Counter("upstream_replica_errors", "Upstream calls that failed through the replica's fault.", LABELS)
EJECTIONS = Counter("upstream_replica_ejections", "Times a replica was taken out of its pool.", LABELS)


def replica_failed(pool: UpstreamPool, label: str, *, ejected: bool) -> None:
    ERRORS.labels(pool.name, label).inc()
    if ejected:
        EJECTIONS.labels(pool.name, label).inc()


def replicas_in_flight(pools: Iterable[UpstreamPool]) -> dict[tuple[str, ...], float]:
    """Requests this worker has in flight on each replica (pools with the same labels add up)."""
    counts: dict[tuple[str, ...], float] = {}
    for pool in pools:
        for replica in pool.snapshot():
            key = (pool.name, replica.label)
            counts[key] = counts.get(key, 0) + replica.in_flight
    return counts


def replicas_up(pools: Iterable[UpstreamPool]) -> dict[tuple[str, ...], float]:
    """1 for a replica this worker routes to, 0 for an ejected one. When an edited config left an
    older pool for the same replicas in the cache, the one used last speaks."""
    up: dict[tuple[str, ...], float] = {}
    for pool in sorted(pools, key=lambda pool: pool.last_used):
        for replica in pool.snapshot():
            up[(pool.name, replica.label)] = 1.0 if replica.health == "healthy" else 0.0
    return up
