from __future__ import annotations

import types
from collections.abc import Callable, Iterator

import pytest

from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer


class FrozenClock:
    """Stands in for the `time` module where rate limiting reads the clock (as in tests/ratelimits)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    import django_ratelimit.core

    from apps.ratelimits import limiter

    frozen = FrozenClock(1_900_000_000.25)
    fake_time = types.SimpleNamespace(time=frozen.time)
    monkeypatch.setattr(django_ratelimit.core, "time", fake_time)
    monkeypatch.setattr(limiter, "time", fake_time)
    return frozen


@pytest.fixture
def written_rows() -> Iterator[Callable[[], list[RequestLog]]]:
    """Flush the writer (noise buckets included) and return every row, oldest first."""

    def read() -> list[RequestLog]:
        request_log_writer.flush(everything=True)
        return list(RequestLog.objects.order_by("id"))

    yield read
    request_log_writer.stop()  # a test that started the thread leaves none behind
