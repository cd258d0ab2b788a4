"""PostgreSQL really goes away under a live server: a TCP proxy in front of the shared server is cut
(open connections reset, new ones refused), then restored. Only when the suite runs on PostgreSQL.

While it is down: what needs the database answers 503 `service_unavailable` in the envelope, at once
(the circuit breaker, not a pool timeout per request), with the breaker's Retry-After and the
rate-limit headers, never a 500 and never a 429 for a token that could not be checked; what does
not need it (a cached token listing models) still answers 200. Nothing is charged and no
idempotency key is left behind. When it is back the server recovers by itself, and the request-log
rows of the outage, buffered in memory, are written.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from apps.idempotency.models import IdempotencyRecord
from apps.request_logs.models import RequestLog
from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server
from tests.support.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs DATABASE_URL=postgres://…"),
]

RECOVERY_S = 15.0
# A long pool timeout, so that a request that waits for the pool cannot pass for one that failed fast.
POOL_TIMEOUT_S = 10.0
BREAKER_OPEN_S = 2.0
SERVER_ENV = {
    "DB_POOL_TIMEOUT": str(POOL_TIMEOUT_S),
    "DB_POOL_MIN": "1",
    "DB_CIRCUIT_OPEN_SECONDS": str(BREAKER_OPEN_S),
    "REQUEST_LOG_FLUSH_SECONDS": "0.2",
}
CONCURRENT = 10


def proxied_database_url(port: int) -> str:
    db = connection.settings_dict
    return f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{port}/{db['NAME']}"


def call(base: str, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    started = time.monotonic()
    response = httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)
    response.extensions["seconds"] = time.monotonic() - started
    return response


def concurrently(base: str, tokens: list[str]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(lambda token: call(base, "GET", "/v1/models", token), tokens))


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    body = response.json()
    assert body["error"]["code"] == "service_unavailable" and body["data"] is None
    assert response.headers["X-Request-Id"] == body["meta"]["request_id"]
    # Retry when the circuit breaker tries the database again: at most its open time from now.
    retry_after_ms = int(response.headers["Retry-After-Ms"])
    assert 1 <= retry_after_ms <= BREAKER_OPEN_S * 1000, retry_after_ms
    assert response.headers["Retry-After"] == str(math.ceil(retry_after_ms / 1000))
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit"):
        assert name in response.headers, (name, response.text[:200])


def wait_until_ok(base: str, token: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_S:
        if call(base, "GET", "/v1/usage", token).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"no recovery within {RECOVERY_S} s")


def test_postgres_down_is_503_then_recovers_and_the_log_is_not_lost():
    make_fake_model("fake-chat", kind="chat", reply_tokens=2)
    known = make_token(customer="known").secret
    fresh = make_token(customer="fresh").secret  # never seen by the server before the outage
    more_fresh = [make_token(customer=f"fresh-{i}").secret for i in range(CONCURRENT)]
    completion = {"json": {"model": "fake-chat", "prompt": "a b"}, "headers": {"Idempotency-Key": "outage-1"}}

    with TcpProxy(target_port=int(connection.settings_dict.get("PORT") or 5432)) as proxy:
        env = {**SERVER_ENV, "DATABASE_URL": proxied_database_url(proxy.port)}
        with live_server(env=env) as base:
            assert call(base, "GET", "/v1/models", known).status_code == 200  # token now cached
            proxy.cut()
            outage = {
                "cached token, no database needed": call(base, "GET", "/v1/models", known),
                "usage": call(base, "GET", "/v1/usage", known),
                "completion with a key": call(base, "POST", "/v1/completions", known, **completion),
                "unknown token": call(base, "GET", "/v1/models", fresh),
            }
            # Tokens that cannot be checked are no failed guesses: 503 for each, never a 429.
            outage.update(enumerate(concurrently(base, more_fresh)))
            socket_frame, socket_close = websocket_hello(base, fresh)
            proxy.restore()
            recovery_s = wait_until_ok(base, known)
            retry = call(base, "POST", "/v1/completions", known, **completion)
            time.sleep(1.0)  # a few flushes of the request-log writer

    assert outage.pop("cached token, no database needed").status_code == 200
    seconds = sorted(response.extensions["seconds"] for response in outage.values())
    print(f"outage: {len(seconds)} answers in {seconds[0]:.3f}-{seconds[-1]:.3f} s; recovery {recovery_s:.1f} s")
    for response in outage.values():
        assert_unavailable(response)
        # Fail fast (the circuit breaker), not one pool timeout per request.
        assert response.extensions["seconds"] < POOL_TIMEOUT_S / 2, response.extensions["seconds"]
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers  # executed, once
    assert UsageRecord.objects.count() == 1
    assert IdempotencyRecord.objects.get().state == "completed"
    logged = set(RequestLog.objects.values_list("request_id", flat=True))
    assert {response.headers["X-Request-Id"] for response in outage.values()} <= logged
    assert recovery_s < RECOVERY_S
    assert socket_frame["error"]["code"] == "service_unavailable" and socket_close == 1013  # "try again later"


def websocket_hello(base: str, token: str) -> tuple[dict, int | None]:
    """The first frame and the close code of a WebSocket opened with `token`."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    url = base.replace("http://", "ws://") + "/v1/stream"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        frame = json.loads(ws.recv(timeout=10))
        try:
            ws.recv(timeout=10)
        except ConnectionClosed as closed:
            return frame, closed.rcvd.code if closed.rcvd else None
    return frame, None
