"""The shared cache's circuit breaker on real connections (apps/core/shared_cache.py): a Redis of
the test's own behind a proxy the test breaks. Under a live server: tests/hardening/test_fault_redis.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from apps.core import shared_cache
from apps.core.circuit_breaker import CircuitBreaker
from apps.core.shared_cache import GuardedConnection, GuardedConnectionPool, GuardedSSLConnection
from tests.hardening.redis_process import RedisProcess, redis_process
from tests.support.clock import FrozenClock
from tests.support.tcp_proxy import TcpProxy

OPEN_S = 5.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The breaker on a clock of the test's own, so that "still open" does not depend on speed."""
    frozen = FrozenClock(100.0)
    breaker = CircuitBreaker(open_s=OPEN_S, probe_timeout_s=1.0, service="the shared cache", clock=frozen.time)
    monkeypatch.setattr(shared_cache, "shared_cache_breaker", breaker)
    return frozen


@pytest.fixture
def proxied() -> Iterator[tuple[RedisProcess, TcpProxy]]:
    with redis_process() as server, TcpProxy(target_port=server.port) as proxy:
        yield server, proxy


def client(port: int) -> redis.Redis:
    pool = GuardedConnectionPool.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3, socket_connect_timeout=0.3)
    return redis.Redis(connection_pool=pool)


def test_the_url_chooses_the_connection_and_each_operation_is_tried_once():
    plain = GuardedConnectionPool.from_url("redis://127.0.0.1:1/0")
    tls = GuardedConnectionPool.from_url("rediss://127.0.0.1:1/0")
    assert plain.connection_class is GuardedConnection and tls.connection_class is GuardedSSLConnection
    assert plain.connection_kwargs["retry"].get_retries() == 0


def test_a_partition_costs_one_timeout_then_nothing_is_sent_until_a_probe_finds_redis(clock, proxied):
    server, proxy = proxied
    cache = client(proxy.port)
    cache.set("k", "v")
    proxy.hang()

    with pytest.raises(redis.TimeoutError):
        cache.get("k")  # waits out the socket timeout: the circuit opens
    for _ in range(5):
        with pytest.raises(shared_cache.SharedCacheUnavailable):
            cache.get("k")
    assert proxy.held == 1  # only the first operation went into the partition

    proxy.restore()
    clock.advance(OPEN_S)
    with pytest.raises(shared_cache.SharedCacheUnavailable, match="probed"):
        cache.get("k")  # the caller that finds the probe due does not wait for it
    deadline = time.monotonic() + 5
    while shared_cache.shared_cache_breaker.tripped:  # the probe, in its own thread, closes it
        assert time.monotonic() < deadline, "the probe never closed the circuit"
        time.sleep(0.02)
    assert cache.get("k") == b"v"


def test_a_probe_that_finds_redis_still_down_keeps_it_open(clock, proxied):
    server, proxy = proxied
    cache = client(proxy.port)
    proxy.cut()
    with pytest.raises(redis.ConnectionError):
        cache.get("k")
    connections = proxy.connections
    clock.advance(OPEN_S)
    with pytest.raises(shared_cache.SharedCacheUnavailable):
        cache.get("k")  # starts the probe
    deadline = time.monotonic() + 5
    while proxy.connections == connections:  # the probe's own connection, refused
        assert time.monotonic() < deadline, "no probe was made"
        time.sleep(0.02)
    time.sleep(0.1)
    with pytest.raises(shared_cache.SharedCacheUnavailable, match="unreachable"):
        cache.get("k")
    assert proxy.connections == connections + 1  # nothing but the probe tried
