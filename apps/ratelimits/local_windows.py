"""The degraded mode of rate limiting: one-second windows counted in this process alone.

Requests are counted here only while the shared cache (Redis) cannot be reached and
RATE_LIMIT_FAIL_OPEN is on, so an outage lowers the guarantee from "the limit across all workers"
to "the limit in each worker" instead of switching limits off (docs/reliability.md). Only the
current second's counts are kept: memory is bounded by the keys seen in one second.

The second in which the shared cache fails, or comes back, is counted partly there and partly
here. So that such a second too admits at most workers x limit, each key keeps two counts for the
current second: the last count the shared cache gave this process (`seen`), and the requests this
process counted alone since (`alone`). Counting alone continues from `seen`, and a shared count
that comes back adds `alone` (the shared cache never heard of those requests).
"""

from __future__ import annotations

import threading


class LocalWindows:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._seen: dict[str, int] = {}
        self._alone: dict[str, int] = {}

    def count(self, key: str, *, now: float, increment: bool = True) -> int:
        """Without the shared cache: the count of `key` in the second that holds `now`, after adding
        one if `increment`."""
        with self._lock:
            self._roll(now)
            alone = self._alone.get(key, 0) + int(increment)
            if increment:
                self._alone[key] = alone
            return self._seen.get(key, 0) + alone

    def with_shared(self, key: str, *, now: float, shared: int) -> int:
        """The shared cache counted `shared` for `key` in the second that holds `now`: that count
        plus the requests this process counted alone in the same second."""
        with self._lock:
            if int(now) < self._window:  # a count of an earlier second, answered late: none here is of it
                return shared
            self._roll(now)
            self._seen[key] = shared
            return shared + self._alone.get(key, 0)

    def clear(self) -> None:
        with self._lock:
            self._window, self._seen, self._alone = -1, {}, {}

    def _roll(self, now: float) -> None:
        """The caller holds `_lock`. A call that read the clock late counts in the newer second."""
        window = int(now)
        if window > self._window:
            self._window, self._seen, self._alone = window, {}, {}


local_windows = LocalWindows()
