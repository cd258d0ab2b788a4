"""Redis really goes away under a live server: what a cache outage does is a setting (fail open:
count in each worker alone; or closed: 503), logged, never a 500 (docs/api-contract.md, "Rate
limits"; docs/reliability.md).

The server's REDIS_URL points at a redis-server of this test's own, which the test kills with
SIGKILL and starts again on the same port, or, for a hanging Redis, at a TCP proxy in front of it.
The database stays up: tokens still authenticate from it (the token cache re-reads entries older
than a second when it cannot check the shared generation), idempotency keys still hold.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from apps.customers.services import token_revoke
from apps.usage.models import UsageRecord
from tests.hardening.redis_process import RedisProcess, redis_process
from tests.hardening.shared_db import QUIET_LOG_WRITER
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# What one request may take while Redis is dead or hanging: several cache calls, each bounded by
# the cache client's timeouts and retries. A hung request would take the client's whole timeout.
OUTAGE_ANSWER_S = 8.0
LIMIT = 1000
CIRCUIT_OPEN_S = 3.0


def get(base: str, token: str, path: str = "/v1/models") -> httpx.Response:
    return httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def complete(base: str, token: str, key: str) -> httpx.Response:
    body = {"model": "fake-chat", "prompt": "one two"}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    return httpx.post(base + "/v1/completions", json=body, headers=headers, timeout=60)


def assert_contract(response: httpx.Response) -> None:
    body = response.json()
    assert set(body) == {"data", "error", "meta"}
    assert response.headers["X-Request-Id"] == body["meta"]["request_id"]
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit"):
        assert name in response.headers, (name, response.status_code)


def sequence(call, count: int) -> tuple[list[httpx.Response], float, float]:
    started = time.time()
    return [call() for _ in range(count)], started, time.time()


def assert_limited(answers: tuple[list[httpx.Response], float, float], *, allowed: int, limit: int) -> None:
    """At most `limit` answers `allowed` per second the requests spanned, and the rest 429."""
    responses, started, ended = answers
    statuses = [response.status_code for response in responses]
    seconds = int(ended) - int(started) + 1
    assert set(statuses) == {allowed, 429}, statuses
    assert statuses.count(allowed) <= limit * seconds, (statuses, seconds)


def timed(call, *args):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = call(*args)
    return response, time.monotonic() - started


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    with redis_process() as server:
        yield server


def serve(redis_url: str, *, fail_open: bool, circuit_open_s: float = 1.0):  # type: ignore[no-untyped-def]
    env = {
        "REDIS_URL": redis_url,
        "RATE_LIMIT_FAIL_OPEN": "1" if fail_open else "0",
        "SHARED_CACHE_CIRCUIT_OPEN_SECONDS": str(circuit_open_s),
        **QUIET_LOG_WRITER,
    }
    return live_server(env=env)


def test_redis_killed_fail_open_serves_from_the_database_and_recovers(own_redis):
    make_fake_model("fake-chat", kind="chat", reply_tokens=2)
    known, fresh, revoked = (make_token(customer=name, rate=LIMIT) for name in ("known", "fresh", "revoked"))
    small_limit = make_token(customer="small", rate=3)

    with serve(own_redis.url, fail_open=True) as base:
        assert get(base, known.secret).headers["X-RateLimit-Remaining"] == str(LIMIT - 1)  # counted
        assert get(base, revoked.secret).status_code == 200  # cached in the server
        own_redis.kill()
        token_revoke(token=revoked.token)  # the invalidation cannot reach the server through Redis
        time.sleep(1.1)  # past the token cache's staleness bound

        cached, cached_s = timed(get, base, known.secret)
        new, _ = timed(get, base, fresh.secret)
        gone = get(base, revoked.secret)
        wrong = get(base, "ipk_00000000_not-a-token")
        first, first_s = timed(complete, base, known.secret, "during-outage")
        replay = complete(base, known.secret, "during-outage")
        # The small token first: past the guesses' budget a token not in use is not even looked up.
        small = sequence(lambda: get(base, small_limit.secret), 12)
        guesses = sequence(lambda: get(base, "ipk_00000000_a-guess"), 12)

        own_redis.start()  # same port: the clients reconnect
        recovered = [get(base, known.secret) for _ in range(3)]

    assert cached.status_code == 200 and new.status_code == 200  # auth from the database
    # Not "no limits": counted by the worker itself (the limit holds per worker), guesses included.
    assert cached.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)
    assert_limited(guesses, allowed=401, limit=5)
    assert_limited(small, allowed=200, limit=3)
    assert gone.status_code == 401 and wrong.status_code == 401  # a revocation still lands
    assert first.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content and UsageRecord.objects.count() == 1
    for response in (cached, new, gone, wrong, first, replay):
        assert_contract(response)
    assert max(cached_s, first_s) < OUTAGE_ANSWER_S, (cached_s, first_s)
    # Counting again once Redis is back (the first call may still meet a dead pooled connection).
    assert recovered[-1].status_code == 200
    assert int(recovered[-1].headers["X-RateLimit-Remaining"]) < LIMIT


def test_redis_killed_fail_closed_is_503_then_recovers(own_redis):
    token = make_token(customer="closed", rate=LIMIT).secret

    with serve(own_redis.url, fail_open=False) as base:
        assert get(base, token).status_code == 200
        own_redis.kill()
        down = get(base, token)
        own_redis.start()
        deadline = time.monotonic() + OUTAGE_ANSWER_S
        while (up := get(base, token)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)

    assert down.status_code == 503 and down.json()["error"]["code"] == "service_unavailable"
    assert down.headers["Retry-After"] == "1"
    assert_contract(down)
    assert up.status_code == 200


def test_a_hanging_redis_is_waited_out_once_not_once_per_request(own_redis):
    """A partition: the first cache operation waits out its socket timeout and opens the shared
    cache's circuit; until a probe off the request path finds Redis again, every request is served
    without sending the partition a byte. Before the breaker each operation waited out its
    timeout, and redis-py's retries, on the event loop: a node behind a partition answered in tens
    of seconds (`make multinode`)."""
    token = make_token(customer="hang", rate=LIMIT).secret

    with (
        TcpProxy(target_port=own_redis.port) as proxy,
        serve(f"redis://127.0.0.1:{proxy.port}/0", fail_open=True, circuit_open_s=CIRCUIT_OPEN_S) as base,
    ):
        assert get(base, token).status_code == 200
        proxy.hang()  # connections stay open, nothing answers: a partition, not a crash
        (first, *rest), started, ended = sequence(lambda: get(base, token), 8)
        held = proxy.held
        proxy.restore()
        redis.Redis(port=own_redis.port).flushdb()
        deadline = time.monotonic() + OUTAGE_ANSWER_S
        while True:
            back = get(base, token)
            if redis.Redis(port=own_redis.port).dbsize():  # the limiter's count is a key again
                break
            assert time.monotonic() < deadline, "the server never used Redis again"
            time.sleep(0.2)

    for response in (first, *rest, back):
        assert response.status_code == 200
        assert_contract(response)
    # The first request's operation, and at most one background probe per open period since.
    probes = int((ended - started) / CIRCUIT_OPEN_S) + 1
    assert held <= 1 + probes, (held, probes)
