"""The one way backends say "at capacity": 503 model_overloaded with a consistent Retry-After pair."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from apps.core.errors import ModelOverloaded


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
