from __future__ import annotations

import types

import pytest


class FrozenClock:
    """Stands in for the `time` module where rate limiting reads the clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    import django_ratelimit.core

    from apps.ratelimits import limiter

    frozen = FrozenClock(1_900_000_000.25)
    fake_time = types.SimpleNamespace(time=frozen.time)
    monkeypatch.setattr(django_ratelimit.core, "time", fake_time)
    monkeypatch.setattr(limiter, "time", fake_time)
    return frozen
