"""The replica pool on its own: least-in-flight choice, weights, caps, ejection, probes, failover rules."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from apps.backends.upstream_errors import UpstreamStatus, error_for_exception, error_for_status
from apps.backends.upstream_failover import call_with_failover, replica_fault, stream_with_failover
from apps.backends.upstream_pool import NoReplica, ReplicaSpec, UpstreamPool
from apps.core.errors import InvalidRequest, ModelOverloaded, ServiceUnavailable, UpstreamError
from tests.support.clock import FrozenClock

from .conftest import Runner

A, B, C = "http://a:1", "http://b:1", "http://c:1"


def pool(*specs: ReplicaSpec | str, clock: FrozenClock | None = None, **options: Any) -> UpstreamPool:
    replicas = [spec if isinstance(spec, ReplicaSpec) else ReplicaSpec(url=spec) for spec in specs]
    return UpstreamPool(replicas, name="m", clock=(clock or FrozenClock(100.0)).time, **options)


def refused() -> ServiceUnavailable:
    exc = aiohttp.ClientConnectorError(connection_key=None, os_error=OSError(111, "refused"))  # type: ignore[arg-type]
    error = error_for_exception(exc)
    error.__cause__ = exc
    return error


def http_error(status: int) -> Exception:
    error = error_for_status(status, b"{}", {})
    error.__cause__ = UpstreamStatus(status)
    return error


# --- routing ---------------------------------------------------------------------------------------


def test_each_lease_goes_to_the_replica_with_fewest_in_flight() -> None:
    upstream = pool(A, B, C)

    held = [upstream.lease() for _ in range(6)]

    assert sorted(lease.url for lease in held) == [A, A, B, B, C, C]
    held[0].release()
    freed = held[0].url
    assert upstream.lease().url == freed  # the one with a free slot, whatever the rotation says


def test_a_replica_holding_long_requests_gets_fewer_new_ones() -> None:
    upstream = pool(A, B)
    long_running = [upstream.lease() for _ in range(2)]  # one on each
    slow = next(lease for lease in long_running if lease.url == A)
    fast = next(lease for lease in long_running if lease.url == B)
    fast.release()  # B finishes its request; A is still generating

    picks = []
    for _ in range(5):
        lease = upstream.lease()
        picks.append(lease.url)
        lease.release()

    assert picks == [B] * 5
    slow.release()


def test_equal_loads_take_turns() -> None:
    upstream = pool(A, B, C)
    picks = []
    for _ in range(6):
        lease = upstream.lease()
        picks.append(lease.url)
        lease.release()

    assert sorted(picks) == [A, A, B, B, C, C]


def test_weight_divides_the_count() -> None:
    upstream = pool(ReplicaSpec(url=A, weight=3), ReplicaSpec(url=B))

    held = [upstream.lease().url for _ in range(8)]

    assert held.count(A) == 6 and held.count(B) == 2


def test_a_replica_at_its_cap_is_skipped_and_all_at_cap_is_model_overloaded() -> None:
    upstream = pool(ReplicaSpec(url=A, max_in_flight=1), ReplicaSpec(url=B, max_in_flight=2))

    held = [upstream.lease() for _ in range(3)]
    assert sorted(lease.url for lease in held) == [A, B, B]
    with pytest.raises(ModelOverloaded) as overloaded:
        upstream.lease()

    assert overloaded.value.headers["Retry-After"] == "1"
    held[0].release()
    assert upstream.lease().url == held[0].url


def test_trailing_v1_and_slash_are_dropped_from_urls() -> None:
    assert ReplicaSpec(url="http://gpu:8000/v1/").url == "http://gpu:8000"


# --- health ----------------------------------------------------------------------------------------


def test_a_failure_ejects_the_replica_until_its_probe_answers(run: Runner) -> None:
    clock = FrozenClock(100.0)
    probed: list[str] = []
    answers = {A: False}

    async def probe(url: str) -> bool:
        probed.append(url)
        return answers[url]

    async def scenario() -> list[str]:
        upstream = pool(A, B, clock=clock, probe=probe, cooldown_s=5)
        lease = upstream.lease()
        assert lease.url == A
        lease.release()
        lease.failed("connect failed")
        picks = [_pick(upstream) for _ in range(3)]  # A is out; no probe during the cooldown
        assert probed == []
        clock.advance(5)
        picks.append(_pick(upstream))  # starts the probe, which fails
        await asyncio.sleep(0)
        assert probed == [A] and upstream.snapshot()[0].health == "ejected"
        picks.append(_pick(upstream))  # the failed probe started a new cooldown: no second probe yet
        assert probed == [A]
        answers[A] = True
        clock.advance(5)
        _pick(upstream)
        await asyncio.sleep(0)
        assert probed == [A, A]
        picks += [_pick(upstream) for _ in range(4)]
        return picks

    picks = run(scenario())

    assert picks[:5] == [B] * 5
    assert sorted(picks[5:]) == [A, A, B, B]  # back in the rotation


def _pick(upstream: UpstreamPool) -> str:
    lease = upstream.lease()
    lease.release()
    return lease.url


def test_a_replica_is_ejected_once_and_counted_each_time() -> None:
    upstream = pool(A, B)
    replica = upstream.replicas[0]

    for _ in range(3):
        upstream._failed(replica, "HTTP 502")

    state = upstream.snapshot()[0]
    assert (state.health, state.errors, state.ejections, state.last_error) == ("ejected", 3, 1, "HTTP 502")


def test_when_every_replica_is_ejected_first_tries_still_go_out_but_retries_do_not() -> None:
    upstream = pool(A, B)
    for replica in upstream.replicas:
        upstream._failed(replica, "connect failed")

    lease = upstream.lease()  # panic routing: a whole-pool outage answers like a single base_url

    assert lease.url in (A, B)
    with pytest.raises(NoReplica):
        upstream.lease(avoid=[lease.replica])


def test_success_on_an_ejected_replica_brings_it_back() -> None:
    upstream = pool(A)
    upstream._failed(upstream.replicas[0], "timed out")

    lease = upstream.lease()
    lease.succeeded()
    lease.release()

    assert upstream.snapshot()[0].health == "healthy"


def test_releasing_twice_counts_once() -> None:
    upstream = pool(A)
    lease = upstream.lease()
    lease.release()
    lease.release()

    assert upstream.snapshot()[0].in_flight == 0


# --- what counts against a replica -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (refused(), "connect failed"),
        (http_error(500), "HTTP 500"),
        (http_error(503), "HTTP 503"),
        (http_error(429), "HTTP 429"),
        (http_error(404), None),  # our URL or model name: the same on every replica
        (http_error(401), None),
        (http_error(400), None),  # the caller's request
        (InvalidRequest("too long"), None),
        (UpstreamError("The model backend ended the stream without finishing the answer."), "The model backend"),
        (asyncio.CancelledError(), None),
    ],
    ids=["refused", "500", "503", "429", "404", "401", "400", "invalid", "unfinished", "cancelled"],
)
def test_replica_fault(error: BaseException, fault: str | None) -> None:
    reason = replica_fault(error)
    assert reason == fault if fault is None else (reason or "").startswith(fault)


def test_a_timeout_is_a_fault() -> None:
    error = error_for_exception(TimeoutError())
    error.__cause__ = TimeoutError()
    assert replica_fault(error) == "timed out"


# --- failover --------------------------------------------------------------------------------------


def test_a_call_that_fails_through_the_replica_is_retried_once_elsewhere(run: Runner) -> None:
    upstream = pool(A, B)
    calls: list[str] = []

    async def send(url: str) -> str:
        calls.append(url)
        if len(calls) == 1:
            raise refused()
        return f"answer from {url}"

    result = run(call_with_failover(upstream, send))

    assert calls[1] != calls[0] and result == f"answer from {calls[1]}"
    assert [replica.in_flight for replica in upstream.snapshot()] == [0, 0]
    assert {replica.url: replica.health for replica in upstream.snapshot()}[calls[0]] == "ejected"


def test_a_second_failure_is_the_answer(run: Runner) -> None:
    upstream = pool(A, B, C)
    calls: list[str] = []

    async def send(url: str) -> str:
        calls.append(url)
        raise http_error(502)

    with pytest.raises(UpstreamError):
        run(call_with_failover(upstream, send))

    assert len(calls) == 2 and calls[0] != calls[1]


def test_the_callers_mistake_is_not_retried_nor_held_against_the_replica(run: Runner) -> None:
    upstream = pool(A, B)
    calls: list[str] = []

    async def send(url: str) -> str:
        calls.append(url)
        raise http_error(400)

    with pytest.raises(InvalidRequest):
        run(call_with_failover(upstream, send))

    assert len(calls) == 1
    assert all(replica.health == "healthy" and replica.errors == 0 for replica in upstream.snapshot())


def test_unjudged_side_calls_neither_retry_nor_eject(run: Runner) -> None:
    upstream = pool(A, B)
    calls: list[str] = []

    async def send(url: str) -> str:
        calls.append(url)
        raise http_error(500)

    with pytest.raises(UpstreamError):
        run(call_with_failover(upstream, send, judged=False))

    assert len(calls) == 1 and all(replica.health == "healthy" for replica in upstream.snapshot())


def _stream_of(events: list[str], *, fail_at: int | None, error: Exception) -> AsyncGenerator[str]:
    async def stream() -> AsyncGenerator[str]:
        for index, event in enumerate(events):
            if index == fail_at:
                raise error
            yield event
        if fail_at == len(events):
            raise error

    return stream()


def test_a_stream_failing_before_its_first_event_fails_over(run: Runner) -> None:
    upstream = pool(A, B)
    opened: list[str] = []

    def open_stream(url: str) -> AsyncGenerator[str]:
        opened.append(url)
        return _stream_of(["x", "y"], fail_at=0 if len(opened) == 1 else None, error=refused())

    async def scenario() -> list[str]:
        return [event async for event in stream_with_failover(upstream, open_stream)]

    assert run(scenario()) == ["x", "y"]
    assert len(opened) == 2 and opened[0] != opened[1]
    assert [replica.in_flight for replica in upstream.snapshot()] == [0, 0]


def test_a_stream_failing_after_its_first_event_is_not_retried(run: Runner) -> None:
    upstream = pool(A, B)
    opened: list[str] = []

    def open_stream(url: str) -> AsyncGenerator[str]:
        opened.append(url)
        return _stream_of(["x", "y"], fail_at=1, error=UpstreamError("dropped"))

    async def scenario() -> list[str]:
        received: list[str] = []
        with pytest.raises(UpstreamError):
            async for event in stream_with_failover(upstream, open_stream):
                received.append(event)
        return received

    assert run(scenario()) == ["x"]
    assert len(opened) == 1
    states = {replica.url: replica for replica in upstream.snapshot()}
    assert states[opened[0]].health == "ejected" and states[opened[0]].in_flight == 0


def test_a_stream_holds_its_replica_until_closed(run: Runner) -> None:
    upstream = pool(A)

    async def scenario() -> tuple[int, int]:
        stream = stream_with_failover(upstream, lambda url: _stream_of(["x", "y", "z"], fail_at=None, error=refused()))
        await anext(stream)
        during = upstream.snapshot()[0].in_flight
        await stream.aclose()
        return during, upstream.snapshot()[0].in_flight

    assert run(scenario()) == (1, 0)


def test_a_pool_of_one_does_not_retry(run: Runner) -> None:
    upstream = pool(A)
    calls: list[str] = []

    async def send(url: str) -> str:
        calls.append(url)
        raise refused()

    with pytest.raises(ServiceUnavailable):
        run(call_with_failover(upstream, send))

    assert calls == [A]
