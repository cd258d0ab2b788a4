"""A circuit breaker: when a service (the database, the shared cache) cannot be reached, fail at
once instead of making every request wait out a timeout (docs/reliability.md).

closed     normal: every connection attempt goes to the pool
open       after a connection could not be had: every attempt fails at once for `open_s`, and
           the 503s say `Retry-After` = the time left
half-open  then (or at once after a connection broke) one caller probes: a working connection
           within `probe_timeout_s`; the others still fail at once until the probe answers, or
           its time is up and the next caller probes
A probe that gets a working connection closes the breaker; one that fails opens it again.

One breaker per process and service: `database_breaker` here, fed by `apps.core.postgresql`;
`shared_cache_breaker` in `apps.core.shared_cache`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from django.conf import settings


class CircuitOpen(Exception):
    """Raised instead of trying to connect while the breaker is open."""

    def __init__(self, retry_after_s: float, *, service: str = "the database") -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"{service} is unreachable; not retrying for {retry_after_s:.2f} s")


class CircuitBreaker:
    def __init__(
        self,
        *,
        open_s: float,
        probe_timeout_s: float,
        service: str = "the database",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.open_s, self.probe_timeout_s, self.service, self._clock = open_s, probe_timeout_s, service, clock
        self._lock = threading.Lock()
        self._tripped = False
        self._blocked_until = 0.0  # while tripped: no attempt (not even a probe) before this

    @property
    def tripped(self) -> bool:
        return self._tripped

    def admit(self) -> bool:
        """May this caller try to connect? True if it is the half-open probe; raises CircuitOpen if
        it may not try at all."""
        if not self._tripped:  # the common case, without the lock
            return False
        with self._lock:
            now = self._clock()
            if not self._tripped:
                return False
            if now < self._blocked_until:
                raise CircuitOpen(self._blocked_until - now, service=self.service)
            self._blocked_until = now + self.probe_timeout_s  # the others wait for this probe
            return True

    def failed(self) -> None:
        """No connection could be had: open."""
        with self._lock:
            self._tripped = True
            self._blocked_until = self._clock() + self.open_s

    def suspect(self) -> None:
        """A connection broke: the next attempt is a probe (a database restart breaks connections
        that a healthy pool replaces at once; an outage fails the probe, and that opens)."""
        if not self._tripped:
            with self._lock:
                self._tripped, self._blocked_until = True, self._clock()

    def succeeded(self) -> None:
        if self._tripped:
            with self._lock:
                self._tripped, self._blocked_until = False, 0.0

    def retry_after_ms(self) -> int:
        """When a client should retry: the time until the next probe may run (at least 1 s when
        the breaker is closed: the failure was a single one)."""
        if not self._tripped:
            return 1000
        return max(1, math.ceil((self._blocked_until - self._clock()) * 1000))

    def reset(self) -> None:
        self.succeeded()


def retry_after_headers(retry_after_ms: int) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(retry_after_ms / 1000)), "Retry-After-Ms": str(retry_after_ms)}


database_breaker = CircuitBreaker(
    open_s=settings.DB_CIRCUIT_OPEN_SECONDS, probe_timeout_s=settings.DB_CIRCUIT_PROBE_TIMEOUT_SECONDS
)
