"""Tokens: a revoked or expired token is refused on every endpoint and transport, including an open
WebSocket; guessing tokens is limited per client IP, and a guess past the limit learns nothing."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from apps.customers.models import ApiToken, Customer
from apps.customers.services import token_revoke
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_error
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = {"model": "fake-chat", "messages": [{"role": "user", "content": "a b"}]}
EVERY_ENDPOINT = [
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/fake-chat", None),
    ("GET", "/v1/usage", None),
    ("POST", "/v1/completions", {"model": "fake-chat", "prompt": "a"}),
    ("POST", "/v1/chat/completions", CHAT),
    ("POST", "/v1/chat/completions", {**CHAT, "stream": True}),
    ("POST", "/v1/embeddings", {"model": "fake-embed", "input": "a"}),
    ("GET", "/v1/no-such-endpoint", None),
]


@pytest.fixture(autouse=True)
def fake_models(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3, token_delay_s=0.01)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)


def revoked(api) -> str:
    issued = make_token(customer="revoked")
    assert api.get("/v1/models", token=issued.secret).status_code == 200  # cached first
    token_revoke(token=issued.token)
    return issued.secret


def expired(api) -> str:
    issued = make_token(customer="expired", expires_at=timezone.now() + timedelta(seconds=0.5))
    assert api.get("/v1/models", token=issued.secret).status_code == 200  # cached, with its expiry
    time.sleep(0.6)  # nothing changes in the database: the time just passes
    return issued.secret


def inactive_customer(api) -> str:
    issued = make_token(customer="closed-account")
    assert api.get("/v1/models", token=issued.secret).status_code == 200
    customer = Customer.objects.get(name="closed-account")
    customer.is_active = False
    customer.save()
    return issued.secret


@pytest.mark.parametrize("make_dead_token", [revoked, expired, inactive_customer])
def test_a_dead_token_is_refused_on_every_endpoint(api, clock, make_dead_token):
    secret = make_dead_token(api)

    for method, path, body in EVERY_ENDPOINT:
        response = api.request(method, path, token=secret, json=body, headers={"Idempotency-Key": "k"} if body else {})
        assert_error(response, 401, "invalid_token")
        clock.advance(1)  # a fresh per-IP window: the anonymous limit is not what answers here
    assert UsageRecord.objects.count() == 0


async def ws_open(token: str | None):
    from channels.testing import WebsocketCommunicator

    from inference_platform.asgi import application

    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    ws = WebsocketCommunicator(application, "/v1/stream", headers=headers)
    connected, _ = await ws.connect()
    assert connected
    return ws


def chat(stream_id: str) -> dict:
    return {"id": stream_id, "type": "chat.completions", "body": CHAT}


async def answer(ws) -> dict:
    """The last frame of one request: `done` or `error`."""
    while True:
        frame = await ws.receive_json_from(timeout=5)
        if frame["meta"]["event"] in ("done", "error"):
            return frame


@pytest.mark.parametrize("make_dead_token", [revoked, expired, inactive_customer])
@pytest.mark.parametrize("how", ["handshake", "first message"])
def test_a_dead_token_cannot_open_a_websocket(api, make_dead_token, how):
    secret = make_dead_token(api)

    async def scenario():
        ws = await ws_open(secret if how == "handshake" else None)
        if how == "first message":
            await ws.send_json_to({"type": "auth", "token": secret})
        frame = await ws.receive_json_from(timeout=5)
        closed = await ws.receive_output(timeout=5)
        return frame, closed

    frame, closed = async_to_sync(scenario)()

    assert frame["error"]["code"] == "invalid_token"
    assert closed == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize("kill", [token_revoke, "expire", "deactivate"])
def test_an_open_websocket_stops_serving_a_token_that_died(kill):
    issued = make_token(customer="ws-live", expires_at=timezone.now() + timedelta(hours=1))

    async def scenario():
        ws = await ws_open(issued.secret)
        await ws.send_json_to(chat("before"))
        before = await answer(ws)
        await kill_token(issued, kill)
        await ws.send_json_to(chat("after"))
        after = await ws.receive_json_from(timeout=5)
        closed = await ws.receive_output(timeout=5)
        return before, after, closed

    before, after, closed = async_to_sync(scenario)()

    assert before["meta"]["event"] == "done"
    assert after["error"]["code"] == "invalid_token"
    assert closed == {"type": "websocket.close", "code": 4401}
    assert UsageRecord.objects.count() == 1


async def kill_token(issued, how) -> None:
    from asgiref.sync import sync_to_async

    def change() -> None:
        token = ApiToken.objects.get(pk=issued.token.pk)
        if how == "expire":  # an operator shortens the expiry in the admin
            token.expires_at = timezone.now() - timedelta(seconds=1)
            token.save()
        elif how == "deactivate":
            token.customer.is_active = False
            token.customer.save()
        else:
            token_revoke(token=token)

    await sync_to_async(change, thread_sensitive=False)()
    await asyncio.sleep(0.05)


# --- Guessing ------------------------------------------------------------------------------------


def test_guesses_past_the_per_ip_limit_are_refused_without_looking_them_up(api, clock, settings, monkeypatch):
    from apps.customers import services

    lookups = []
    real_lookup = services._principal_from_database
    monkeypatch.setattr(services, "_principal_from_database", lambda h: lookups.append(h) or real_lookup(h))
    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND

    statuses = [api.get("/v1/models", token=f"ipk_guess{n:04}_{'x' * 43}").status_code for n in range(limit + 20)]

    assert statuses == [401] * limit + [429] * 20
    assert len(lookups) <= limit  # the database is not a guessing oracle past the limit


def test_a_right_guess_past_the_limit_learns_nothing_until_the_window_ends(api, clock, settings):
    right = make_token(customer="victim").secret  # never used: not in any cache
    for n in range(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND):
        api.get("/v1/models", token=f"ipk_guess{n:04}_wrong")

    during = api.get("/v1/models", token=right)
    clock.advance(1)
    after = api.get("/v1/models", token=right)

    assert_error(during, 429, "rate_limited")  # the same answer as for a wrong guess
    assert after.status_code == 200


def test_a_client_already_using_its_token_is_not_locked_out_by_guessers_on_its_ip(api, clock, settings):
    mine = make_token(customer="neighbour").secret
    assert api.get("/v1/models", token=mine).status_code == 200
    for n in range(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND + 5):
        api.get("/v1/models", token=f"ipk_guess{n:04}_wrong")

    assert api.get("/v1/models", token=mine).status_code == 200


def _another_worker() -> None:
    from apps.customers.token_cache import token_cache

    token_cache.clear()  # a worker that never served the token: only the shared cache knows it


def _a_token_change() -> None:
    make_token(customer="someone-else")  # any change invalidates every worker's token cache


@pytest.mark.parametrize("elsewhere", [_another_worker, _a_token_change], ids=["another-worker", "token-change"])
def test_a_token_in_use_is_not_locked_out_by_guessers_on_a_cold_token_cache(api, clock, settings, elsewhere):
    """Issue 20: "already using its token" must hold for every worker, and after an invalidation."""
    mine = make_token(customer="neighbour").secret
    assert api.get("/v1/models", token=mine).status_code == 200
    elsewhere()
    for n in range(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND + 5):
        api.get("/v1/models", token=f"ipk_guess{n:04}_wrong")

    answer = api.get("/v1/models", token=mine)

    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Limit"] != str(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND)


def test_websocket_guesses_are_limited_per_ip_too(clock, settings):
    right = make_token(customer="ws-victim").secret

    async def guess(token: str) -> str:
        ws = await ws_open(token)
        frame = await ws.receive_json_from(timeout=5)
        await ws.receive_output(timeout=5)  # closed
        return frame["error"]["code"]

    async def scenario():
        wrong = [await guess(f"ipk_guess{n:04}_wrong") for n in range(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND + 3)]
        return wrong, await guess(right)

    wrong, lucky = async_to_sync(scenario)()

    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    assert wrong == ["invalid_token"] * limit + ["rate_limited"] * 3
    assert lucky == "rate_limited"
