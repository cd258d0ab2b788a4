"""Gather concurrent calls into batches and run them in one worker thread (docs/architecture.md, "Backends").

A model run costs far less per item in a batch (MiniLM: ~3.5 ms alone, ~2.2 ms each in 32), and
compute must never run on the event loop. Items wait at most `max_wait_s` for company, batches hold
at most `max_batch_size` items (1 switches batching off, for comparison), and more than `max_queue`
waiting items is answered with `ModelOverloaded` + `Retry-After` instead of latency without bound.
The thread is loop-agnostic: results go back to whichever loop submitted each item.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from apps.backends.overload import model_overloaded


@dataclass(frozen=True, slots=True)
class _Job[T]:
    item: T
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class MicroBatcher[T, R]:
    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R]],
        *,
        max_batch_size: int = 32,
        max_wait_s: float = 0.005,
        max_queue: int = 1024,
        retry_after_s: int = 1,
        on_batch: Callable[[int], None] | None = None,
        name: str = "microbatcher",
    ) -> None:
        self.max_batch_size, self.max_wait_s, self.max_queue = max_batch_size, max_wait_s, max_queue
        self._run_batch, self._on_batch, self._name = run_batch, on_batch, name
        self._retry_after_s = retry_after_s
        self._pending: collections.deque[_Job[T]] = collections.deque()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False

    @property
    def queue_depth(self) -> int:
        """Items waiting for a batch (not counting the batch running now): a metric."""
        return len(self._pending)

    async def submit(self, item: T) -> R:
        return (await self.submit_many([item]))[0]

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        loop = asyncio.get_running_loop()
        jobs = [_Job(item, loop.create_future(), loop) for item in items]
        with self._condition:
            # An oversized request still runs when nothing waits, or it could never run at all.
            if self._pending and len(self._pending) + len(jobs) > self.max_queue:
                raise model_overloaded(self._retry_after_s)
            self._pending.extend(jobs)
            self._start_thread()
            self._condition.notify()
        return list(await asyncio.gather(*(job.future for job in jobs)))

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker once the queue is drained; a later submit starts a new one."""
        with self._condition:
            self._closing = True
            thread, self._thread = self._thread, None
            self._condition.notify()
        if thread is not None:
            thread.join(timeout_s)

    def _start_thread(self) -> None:
        if self._thread is None:
            self._closing = False
            self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)

    def _next_batch(self) -> list[_Job[T]] | None:
        with self._condition:
            while not self._pending:
                if self._closing:
                    return None
                self._condition.wait()
            deadline = time.monotonic() + self.max_wait_s
            while len(self._pending) < self.max_batch_size and (left := deadline - time.monotonic()) > 0:
                self._condition.wait(left)
            size = min(self.max_batch_size, len(self._pending))
            return [self._pending.popleft() for _ in range(size)]

    def _run(self, batch: list[_Job[T]]) -> None:
        # A cancelled caller's items are skipped (a racy read, but a stale answer only wastes work).
        jobs = [job for job in batch if not job.future.cancelled()]
        if not jobs:
            return
        if self._on_batch is not None:
            self._on_batch(len(jobs))
        try:
            results = list(self._run_batch([job.item for job in jobs]))
            if len(results) != len(jobs):
                raise RuntimeError(f"{self._name}: {len(results)} results for {len(jobs)} items")
            outcomes: list[tuple[Any, BaseException | None]] = [(result, None) for result in results]
        except Exception as exc:  # every caller in the batch gets the failure; the thread lives on
            outcomes = [(None, exc)] * len(jobs)
        for job, (result, error) in zip(jobs, outcomes, strict=True):
            _resolve_threadsafe(job, result, error)


def _resolve_threadsafe(job: _Job[Any], result: Any, error: BaseException | None) -> None:
    def resolve() -> None:
        if job.future.done():
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    # A RuntimeError means the submitting loop is closed: nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(resolve)
