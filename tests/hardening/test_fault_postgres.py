"""PostgreSQL really goes away under a live server: a TCP proxy in front of the shared server is cut
(open connections reset, new ones refused), then restored. Only when the suite runs on PostgreSQL.

While it is down: what needs the database answers 503 `service_unavailable` in the envelope, with
Retry-After and the rate-limit headers, never a 500; what does not (a cached token listing models)
still answers 200. Nothing is charged and no idempotency key is left behind. When it is back the
server recovers by itself, and the request-log rows of the outage, buffered in memory, are written.
"""

from __future__ import annotations

import json
import time

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
SERVER_ENV = {"DB_POOL_TIMEOUT": "1", "DB_POOL_MIN": "1", "REQUEST_LOG_FLUSH_SECONDS": "0.2"}


def proxied_database_url(port: int) -> str:
    db = connection.settings_dict
    return f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{port}/{db['NAME']}"


def call(base: str, method: str, path: str, token: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return httpx.request(method, base + path, headers=headers, timeout=30, **kwargs)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    body = response.json()
    assert body["error"]["code"] == "service_unavailable" and body["data"] is None
    assert response.headers["X-Request-Id"] == body["meta"]["request_id"]
    assert response.headers["Retry-After"] == "1"
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
            socket_frame, socket_close = websocket_hello(base, fresh)
            proxy.restore()
            recovery_s = wait_until_ok(base, known)
            retry = call(base, "POST", "/v1/completions", known, **completion)
            time.sleep(1.0)  # a few flushes of the request-log writer

    assert outage.pop("cached token, no database needed").status_code == 200
    for response in outage.values():
        assert_unavailable(response)
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
