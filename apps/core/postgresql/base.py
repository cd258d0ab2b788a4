"""Django's PostgreSQL backend (with its psycopg pool) behind the database circuit breaker.

`ENGINE = "apps.core.postgresql"` (set by the settings for a postgres:// DATABASE_URL). Everything is
Django's, except that a connection attempt asks `database_breaker` first, that a failure to get a
connection opens it, and that a connection that broke makes the next attempt a probe
(`apps/core/circuit_breaker.py`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper
from django.utils.functional import cached_property
from psycopg_pool import ConnectionPool

from apps.core.circuit_breaker import CircuitOpen, database_breaker


class BreakerOpen(CircuitOpen, psycopg.OperationalError):
    """What a connection attempt raises while the breaker is open: an OperationalError like any
    unreachable database, so Django wraps it and the API answers 503."""


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        try:
            probe = database_breaker.admit()
        except CircuitOpen as closed:
            raise BreakerOpen(closed.retry_after_s) from None
        if probe and self.pool:
            self._probe(self.pool)
        connection = super().get_new_connection(conn_params)
        database_breaker.succeeded()
        return connection

    @staticmethod
    def _probe(pool: ConnectionPool) -> None:
        """A working connection within the probe's short timeout, or an OperationalError. (Django's
        own call after this waits the pool's full timeout: right for a busy pool, not for asking
        whether the database is back.) The connection goes back to the pool for Django to take."""
        pool.open()
        connection = pool.getconn(timeout=database_breaker.probe_timeout_s)
        try:
            ConnectionPool.check_connection(connection)  # the pool does not check what it hands out
        finally:
            pool.putconn(connection)  # a broken one is discarded by the pool

    @cached_property
    def wrap_database_errors(self) -> DatabaseErrorWrapper:
        return _BreakerErrorWrapper(self)


class _BreakerErrorWrapper(DatabaseErrorWrapper):
    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is not None and _connection_failure(exc_value):
            connection = self.wrapper.connection  # type: ignore[attr-defined]  # set by Django, not in the stubs
            if connection is None:  # while connecting: the pool's timeout, the probe's failure
                database_breaker.failed()
            elif connection.broken or connection.closed:  # not a query's own error (a constraint, a timeout)
                database_breaker.suspect()
        super().__exit__(exc_type, exc_value, traceback)


def _connection_failure(error: BaseException) -> bool:
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(error, BreakerOpen)
