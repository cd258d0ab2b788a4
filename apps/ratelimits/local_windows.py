"""The degraded mode of rate limiting: one-second windows counted in this process alone.

Used only while the shared cache (Redis) cannot be reached and RATE_LIMIT_FAIL_OPEN is on, so an
outage lowers the guarantee from "the limit across all workers" to "the limit in each worker"
instead of switching limits off (docs/reliability.md). Only the current second's counts are kept:
memory is bounded by the keys seen in one second.
"""

from __future__ import annotations

import threading


class LocalWindows:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def count(self, key: str, *, now: float, increment: bool = True) -> int:
        """The count of `key` in the second that holds `now`, after adding one if `increment`."""
        window = int(now)
        with self._lock:
            if window > self._window:  # a call that read the clock late counts in the newer second
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + int(increment)
            if increment:
                self._counts[key] = count
            return count

    def clear(self) -> None:
        with self._lock:
            self._window, self._counts = -1, {}


local_windows = LocalWindows()
