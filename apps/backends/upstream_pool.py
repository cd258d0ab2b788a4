"""Several replicas of one upstream model: which one takes the next request, and which are healthy.

Routing is "least in flight": the healthy replica with the fewest requests in flight from this
worker, divided by its weight, and under its `max_in_flight` cap (ties rotate). LLM requests vary a
thousandfold in length, so counting what is still running, not what was sent, keeps long requests
from piling onto one replica: a replica that is slow holds its requests longer and gets fewer new ones.

Health is passive: a call that fails in a way that is the replica's fault (`upstream_failover`
decides which) ejects it for `cooldown_s`. After the cooldown, the next request that looks at the
pool starts an active probe (`upstream_probe`: `/health`, else `/v1/models`) in the background; a
probe that answers 2xx brings the replica back, one that fails keeps it out for another cooldown. A
call that succeeds on an ejected replica brings it back too.

When every replica is ejected the pool routes to them anyway (least in flight, caps still hold):
an outage of the whole pool then answers with the upstream's own error, exactly as a single
`base_url` does, and the first replica that answers is healthy again without waiting for a probe.
This is also why a pool of one behaves like the plain `base_url` it replaces.

Per worker (this process, nothing shared): in-flight counts, health (ejected or not, cooldowns,
probes) and the routing cursor. Each uvicorn worker, batch worker and node learns a replica's
health by itself, so a dead replica costs each process one failed (and retried) request. Caps are
per worker too: with W worker processes in all, a replica sees at most W x `max_in_flight`.
Shared: the configuration (the model's row in the database) and, on /metrics, the error and
ejection counters (summed over workers with PROMETHEUS_MULTIPROC_DIR); see docs/deploy.md.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from apps.backends import upstream_metrics
from apps.backends.overload import model_overloaded

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_S = 5.0
OVERLOADED_RETRY_AFTER_S = 1

Probe = Callable[[str], Awaitable[bool]]
ReplicaHealth = Literal["healthy", "ejected"]


@dataclass(frozen=True, slots=True)
class ReplicaSpec:
    """One upstream server: its root URL (a trailing `/v1` is dropped), share and cap."""

    url: str
    weight: float = 1.0
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/").removesuffix("/v1"))


@dataclass(slots=True)
class Replica:
    spec: ReplicaSpec
    in_flight: int = 0
    requests: int = 0  # calls started on it (retries included)
    errors: int = 0  # calls that failed through its fault
    ejections: int = 0
    ejected: bool = False
    ejected_at: float = 0.0
    probe_due: float = 0.0  # when an ejected replica may be probed next
    last_error: str = ""

    @property
    def url(self) -> str:
        return self.spec.url

    @property
    def label(self) -> str:
        """host:port, the replica's name on /metrics and in the admin (no path, no credentials)."""
        parts = urlsplit(self.spec.url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    @property
    def health(self) -> ReplicaHealth:
        return "ejected" if self.ejected else "healthy"

    @property
    def full(self) -> bool:
        cap = self.spec.max_in_flight
        return cap is not None and self.in_flight >= cap

    def load(self) -> float:
        """What this request would make its load: fewest wins, weight divides."""
        return (self.in_flight + 1) / self.spec.weight


@dataclass(frozen=True, slots=True)
class ReplicaSnapshot:
    """A replica's state at one instant, for the admin and /metrics."""

    label: str
    url: str
    health: ReplicaHealth
    in_flight: int
    max_in_flight: int | None
    weight: float
    requests: int
    errors: int
    ejections: int
    ejected_for_s: float
    last_error: str


class NoReplica(Exception):
    """No replica other than the ones to avoid can take a retry."""


class UpstreamPool:
    def __init__(
        self,
        specs: Sequence[ReplicaSpec],
        *,
        name: str,
        probe: Probe | None = None,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not specs:
            raise ValueError("an upstream pool needs at least one replica")
        self.name = name  # the upstream model: the `model` label on /metrics
        self.replicas = [Replica(spec) for spec in specs]
        self.cooldown_s = cooldown_s
        self._probe = probe
        self._clock = clock
        self._cursor = 0
        # Requests run on the worker's event loop, but sync code (batches, async_to_sync) may lease
        # from other threads' loops: the counts must not tear.
        self._lock = threading.Lock()
        self._probes: set[asyncio.Task[None]] = set()  # strong references: the loop keeps weak ones
        self.last_used = 0.0

    def __repr__(self) -> str:
        return f"UpstreamPool({self.name!r}, {[replica.url for replica in self.replicas]})"

    def lease(self, *, avoid: Sequence[Replica] = ()) -> Lease:
        """A replica for one upstream call, counted in flight until the lease is released.

        First tries (`avoid` empty) fall back to ejected replicas when no healthy one is left; a
        retry (`avoid` set) only goes to a healthy replica and raises NoReplica otherwise. All
        candidates at their cap: 503 model_overloaded."""
        with self._lock:
            due = self._due_probes()
            replica = self._choose(avoid)
            replica.in_flight += 1
            replica.requests += 1
            self.last_used = self._clock()
        self._start_probes(due)
        return Lease(self, replica)

    def snapshot(self) -> list[ReplicaSnapshot]:
        now = self._clock()
        with self._lock:
            return [
                ReplicaSnapshot(
                    label=replica.label,
                    url=replica.url,
                    health=replica.health,
                    in_flight=replica.in_flight,
                    max_in_flight=replica.spec.max_in_flight,
                    weight=replica.spec.weight,
                    requests=replica.requests,
                    errors=replica.errors,
                    ejections=replica.ejections,
                    ejected_for_s=now - replica.ejected_at if replica.ejected else 0.0,
                    last_error=replica.last_error,
                )
                for replica in self.replicas
            ]

    def _choose(self, avoid: Sequence[Replica]) -> Replica:
        candidates = [replica for replica in self.replicas if replica not in avoid]
        healthy = [replica for replica in candidates if not replica.ejected]
        if avoid and not healthy:
            raise NoReplica
        open_ = [replica for replica in healthy or candidates if not replica.full]
        if not open_:
            raise model_overloaded(OVERLOADED_RETRY_AFTER_S)
        # Rotate the starting point so equal loads take turns instead of all landing on the first.
        start = self._cursor % len(open_)
        self._cursor += 1
        return min(open_[start:] + open_[:start], key=Replica.load)

    def _release(self, replica: Replica) -> None:
        with self._lock:
            replica.in_flight -= 1

    def _succeeded(self, replica: Replica) -> None:
        with self._lock:
            if replica.ejected:
                logger.info("upstream %s: replica %s answered again", self.name, replica.label)
            replica.ejected = False

    def _failed(self, replica: Replica, reason: str) -> None:
        with self._lock:
            replica.errors += 1
            replica.last_error = reason
            ejected_now = not replica.ejected
            if ejected_now:
                replica.ejected, replica.ejections = True, replica.ejections + 1
                replica.ejected_at = self._clock()
                replica.probe_due = replica.ejected_at + self.cooldown_s
        if ejected_now:
            logger.warning(
                "upstream %s: replica %s ejected for %.1fs: %s", self.name, replica.label, self.cooldown_s, reason
            )
        upstream_metrics.replica_failed(self, replica.label, ejected=ejected_now)

    def _due_probes(self) -> list[Replica]:
        """Ejected replicas whose cooldown is over; each is given a new cooldown as its probe starts,
        so a probe lost with its event loop is simply started again later (called under the lock)."""
        if self._probe is None:
            return []
        now = self._clock()
        due = [replica for replica in self.replicas if replica.ejected and replica.probe_due <= now]
        for replica in due:
            replica.probe_due = now + self.cooldown_s
        return due

    def _start_probes(self, due: list[Replica]) -> None:
        if not due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # leased outside a loop: the next lease after this cooldown probes
            return
        for replica in due:
            task = loop.create_task(self._run_probe(replica))
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)

    async def _run_probe(self, replica: Replica) -> None:
        assert self._probe is not None
        try:
            answered = await self._probe(replica.url)
        except Exception:  # a probe must never take the worker down; it simply did not answer
            logger.debug("upstream %s: probe of %s failed", self.name, replica.label, exc_info=True)
            answered = False
        if answered:
            self._succeeded(replica)
        else:
            with self._lock:
                replica.probe_due = self._clock() + self.cooldown_s


@dataclass(slots=True)
class Lease:
    """One call's hold on a replica: report how it went, then release (exactly once)."""

    pool: UpstreamPool
    replica: Replica
    _released: bool = field(default=False)

    @property
    def url(self) -> str:
        return self.replica.url

    def succeeded(self) -> None:
        self.pool._succeeded(self.replica)

    def failed(self, reason: str) -> None:
        self.pool._failed(self.replica, reason)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.pool._release(self.replica)
