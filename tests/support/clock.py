from __future__ import annotations


class FrozenClock:
    """Stands in for the `time` module where rate limiting reads the clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
