"""The one way backends say "at capacity": 503 model_overloaded with a consistent Retry-After pair."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from apps.backends.engine_files import open_lock, try_lock
from apps.core.errors import ModelOverloaded

SLOT_POLL_S = 0.02


def model_overloaded(retry_after_s: int) -> ModelOverloaded:
    # Both headers, always agreeing: the error's defaults would otherwise pair our seconds with 1000 ms.
    seconds = max(1, retry_after_s)
    return ModelOverloaded(headers={"Retry-After": str(seconds), "Retry-After-Ms": str(seconds * 1000)})


class Admission:
    """At most `limit` requests in flight (generating, or queued inside the engine) per process.

    Past the bound a request is refused at once with 503 `model_overloaded`: a caller who can retry
    is better served than one whose latency grows without bound behind the engine's own queue.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self.in_flight >= self.limit:
                raise model_overloaded(1)
            self.in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


class EngineSlots:
    """The chat engine's generation slots, shared by every worker process on the machine: one lock
    file per slot, held (flock) by the request generating in it. A request waits for a free slot at
    most `timeout_s`, then gets 503 `model_overloaded`: before, it queued inside the engine until
    its read timeout (60 s) and got 504. A worker that dies releases its slots with its files.

    The bound is ENGINE_ADMISSION_TIMEOUT_SECONDS (or a model's `admission_timeout_s`).
    """

    def __init__(self, lock_paths: list[Path]) -> None:
        self.lock_paths = lock_paths

    @contextlib.asynccontextmanager
    async def slot(self, *, timeout_s: float) -> AsyncIterator[None]:
        deadline = time.monotonic() + timeout_s
        while (fd := self._try_take()) is None:
            if time.monotonic() >= deadline:
                raise model_overloaded(1)
            await asyncio.sleep(SLOT_POLL_S)
        try:
            yield
        finally:
            os.close(fd)  # releases the lock

    def _try_take(self) -> int | None:
        # Each open() is its own lock owner, so two requests of one process exclude each other too.
        for path in random.sample(self.lock_paths, len(self.lock_paths)):
            fd = open_lock(path)
            if try_lock(fd):
                return fd
            os.close(fd)
        return None
