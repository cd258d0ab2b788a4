"""What `batches.wait_for` keeps track of, shared by the sync and async clients: the last state seen
(reported to `on_progress` whenever status or counts change) and the deadline."""

from __future__ import annotations

import time
from collections.abc import Callable

from .._errors import BatchWaitTimeoutError
from ..types import Batch, BatchStatus

#: The statuses a batch never leaves.
TERMINAL_BATCH_STATUSES: frozenset[BatchStatus] = frozenset({"completed", "failed", "cancelled"})


def is_terminal_batch(batch: Batch) -> bool:
    return batch.status in TERMINAL_BATCH_STATUSES


class BatchWaiter:
    def __init__(self, batch_id: str, *, max_wait: float | None, on_progress: Callable[[Batch], object] | None) -> None:
        self.batch_id = batch_id
        self.max_wait = max_wait
        self.on_progress = on_progress
        self.deadline = None if max_wait is None else time.monotonic() + max_wait
        self.last: Batch | None = None

    def seen(self, batch: Batch) -> None:
        last = self.last
        if last is not None and last.status == batch.status and last.counts == batch.counts:
            return
        self.last = batch
        if self.on_progress is not None:
            self.on_progress(batch)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def clip(self, seconds: float) -> float:
        """`seconds`, or what is left of the wait if that is less (never 0: httpx needs a timeout)."""
        if self.deadline is None:
            return seconds
        return max(0.001, min(seconds, self.deadline - time.monotonic()))

    def timed_out(self) -> BatchWaitTimeoutError:
        return BatchWaitTimeoutError(
            f"Batch {self.batch_id} did not finish within {self.max_wait} s; it goes on running on the server.",
            batch=self.last,
        )
