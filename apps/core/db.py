"""Database work from async code that runs outside a request (streams, WebSocket messages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections


async def db_call[T](fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a worker thread and give its connection back afterwards.

    Outside a request nothing closes a thread's connection, so with the PostgreSQL pool every
    executor thread would keep one checked out until the pool runs dry.
    """

    def closing() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return await sync_to_async(closing, thread_sensitive=False)()
