"""Database work from async code, and telling an unreachable database from a wrong query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, ProgrammingError, close_old_connections


async def db_call[T](fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a worker thread and give its connection back afterwards.

    Every door of the pipeline runs on the event loop, and Django's ORM is synchronous. Outside
    Django's own sync request handling nothing closes a thread's connection, so with the PostgreSQL
    pool every executor thread would otherwise keep one checked out until the pool runs dry.
    """

    def closing() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(closing, thread_sensitive=False)()


def database_down(exc: BaseException) -> bool:
    """The database cannot be reached, as opposed to a query of ours being wrong. InterfaceError
    ("connection already closed") is no DatabaseError, but means the same."""
    if isinstance(exc, InterfaceError):
        return True
    return isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError | DataError | ProgrammingError)
