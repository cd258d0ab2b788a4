"""The shared cache's Redis connections behind a circuit breaker (docs/reliability.md, "Redis").

Every use of the shared cache has an answer for its failure (the limiter counts in the process,
the token cache re-reads the database, a token mark is skipped), but the failure itself took the
socket timeout, and redis-py's default retries took it again and again. The limiter asks on the
event loop, so behind a partition each request stalled every request of its worker for seconds.

Here a connection asks `shared_cache_breaker` before it connects or sends, and a timeout or a
refused connection opens it: for SHARED_CACHE_CIRCUIT_OPEN_SECONDS every operation fails at once,
with no byte sent. Then a probe (PING on a connection of its own, in a thread of its own) decides
whether the circuit closes; a request never waits for it. Operations are tried once: the callers'
fallbacks are the retry.

`CACHES["default"]["OPTIONS"]["CONNECTION_POOL_CLASS"]` names `GuardedConnectionPool`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.connection import AbstractConnection
from redis.retry import Retry

from .circuit_breaker import CircuitBreaker, CircuitOpen

logger = logging.getLogger(__name__)

# What an outage looks like from a connection: refused, reset, timed out. A Redis error reply
# (a wrong type, say) is an answer, not an outage.
OUTAGE = (redis.ConnectionError, redis.TimeoutError, OSError)


class SharedCacheUnavailable(redis.ConnectionError):
    """Raised instead of connecting or sending while the circuit is open."""


shared_cache_breaker = CircuitBreaker(
    open_s=settings.SHARED_CACHE_CIRCUIT_OPEN_SECONDS,
    probe_timeout_s=2 * settings.SHARED_CACHE_TIMEOUT_SECONDS,  # a connect and a reply
    service="the shared cache",
)


class _Guarded(AbstractConnection):
    """Mixed into redis-py's connection classes (below); `unguarded` is the class it guards."""

    unguarded: type[AbstractConnection]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kwargs = kwargs  # for the probe's own connection

    def connect(self) -> None:
        self._admit()
        try:
            super().connect()
        except SharedCacheUnavailable:
            raise
        except OUTAGE:
            shared_cache_breaker.failed()
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._admit()
        try:
            super().send_packed_command(command, check_health)
        except SharedCacheUnavailable:
            raise
        except OUTAGE:
            shared_cache_breaker.failed()
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().read_response(*args, **kwargs)
        except OUTAGE:
            shared_cache_breaker.failed()
            raise
        shared_cache_breaker.succeeded()
        return response

    def _admit(self) -> None:
        try:
            probe_due = shared_cache_breaker.admit()
        except CircuitOpen as open_circuit:
            raise SharedCacheUnavailable(str(open_circuit)) from None
        if probe_due:
            # This caller would be the breaker's probe; a request must not wait for one.
            threading.Thread(
                target=_probe, args=(self.unguarded, self._kwargs), name="shared-cache-probe", daemon=True
            ).start()
            raise SharedCacheUnavailable("the shared cache is being probed")


def _probe(connection_class: type[AbstractConnection], kwargs: dict[str, Any]) -> None:
    connection = connection_class(**kwargs)
    try:
        connection.connect()
        connection.send_command("PING")
        connection.read_response()
    except Exception as error:
        shared_cache_breaker.failed()
        logger.warning("shared cache: still unreachable (%s); failing at once", error)
    else:
        shared_cache_breaker.succeeded()
        logger.warning("shared cache: reachable again")
    finally:
        connection.disconnect()


class GuardedConnection(_Guarded, redis.Connection):
    unguarded = redis.Connection


class GuardedSSLConnection(_Guarded, redis.SSLConnection):
    unguarded = redis.SSLConnection


class GuardedUnixDomainSocketConnection(_Guarded, redis.UnixDomainSocketConnection):
    unguarded = redis.UnixDomainSocketConnection


GUARDED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    guarded.unguarded: guarded
    for guarded in (GuardedConnection, GuardedSSLConnection, GuardedUnixDomainSocketConnection)
}


class GuardedConnectionPool(redis.ConnectionPool):
    """redis-py's pool, handing out the guarded version of the connection class the URL chose
    (`redis://`, `rediss://`, `unix://`), each operation tried once."""

    def __init__(self, connection_class: type[AbstractConnection] = redis.Connection, **kwargs: Any) -> None:
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(connection_class=GUARDED[connection_class], **kwargs)
