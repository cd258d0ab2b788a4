"""The database circuit breaker's states (apps/core/circuit_breaker.py), on a clock of the test's own.
The breaker under a live server and a real outage: tests/hardening/test_fault_postgres.py."""

from __future__ import annotations

import pytest

from apps.core.circuit_breaker import CircuitBreaker, CircuitOpen, retry_after_headers
from tests.support.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(100.0)


@pytest.fixture
def breaker(clock: FrozenClock) -> CircuitBreaker:
    return CircuitBreaker(open_s=2.0, probe_timeout_s=0.5, clock=clock.time)


def test_closed_admits_everyone_and_a_lone_failure_says_retry_in_a_second(breaker):
    assert breaker.admit() is False  # not a probe: a plain attempt
    assert breaker.retry_after_ms() == 1000


def test_a_failure_opens_it_and_retry_after_counts_down_to_the_probe(breaker, clock):
    breaker.failed()
    with pytest.raises(CircuitOpen):
        breaker.admit()
    assert breaker.retry_after_ms() == 2000
    clock.advance(1.5)
    assert breaker.retry_after_ms() == 500
    assert retry_after_headers(breaker.retry_after_ms()) == {"Retry-After": "1", "Retry-After-Ms": "500"}


def test_after_the_open_time_one_caller_probes_while_the_others_still_fail_fast(breaker, clock):
    breaker.failed()
    clock.advance(2.0)
    assert breaker.admit() is True  # the probe
    with pytest.raises(CircuitOpen):
        breaker.admit()
    breaker.succeeded()
    assert breaker.admit() is False and not breaker.tripped


def test_a_failed_probe_opens_it_again_and_a_vanished_probe_is_replaced(breaker, clock):
    breaker.failed()
    clock.advance(2.0)
    assert breaker.admit() is True
    breaker.failed()
    with pytest.raises(CircuitOpen):
        breaker.admit()
    clock.advance(2.0)
    assert breaker.admit() is True  # this probe never reports back...
    clock.advance(0.5)
    assert breaker.admit() is True  # ...so after its timeout the next caller probes


def test_a_broken_connection_makes_the_next_attempt_a_probe_without_waiting(breaker):
    breaker.suspect()
    assert breaker.admit() is True
    with pytest.raises(CircuitOpen):
        breaker.admit()  # others fail fast while the probe runs
