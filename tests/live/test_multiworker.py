"""Limits and idempotency hold across worker processes (docs/api-contract.md, "Rate limits";
docs/idempotency.md): two uvicorn workers sharing Redis (counters, token invalidation) and
PostgreSQL (idempotency claims)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (shared counters)")
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs DATABASE_URL=postgres://… (concurrent claims)"
)


async def _burst(base: str, token: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        return await asyncio.gather(*(client.get("/v1/models") for _ in range(count)))


def _burst_in_one_window(base: str, token: str, count: int) -> list[httpx.Response] | None:
    """Fire at the start of a second; None if the burst straddled two windows (then retry)."""
    while time.time() % 1 > 0.05:
        time.sleep(0.005)
    started = int(time.time())
    responses = asyncio.run(_burst(base, token, count))
    return responses if int(time.time()) == started else None


@needs_redis
def test_sixty_requests_across_two_workers_give_exactly_fifty(transactional_db):
    with live_server(workers=2) as base:
        for attempt in range(4):
            token = make_token(customer=f"burst-{attempt}").secret
            httpx.get(f"{base}/v1/models", headers={"Authorization": "Bearer warmup"})
            responses = _burst_in_one_window(base, token, 60)
            if responses is not None:
                break
        else:
            pytest.fail("could not fit 60 requests into one second on this machine")

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 50 + [429] * 10
    limited = [r for r in responses if r.status_code == 429]
    assert all(r.headers["X-RateLimit-Remaining"] == "0" and "Retry-After-Ms" in r.headers for r in limited)
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in responses if r.status_code == 200)
    assert remaining == list(range(50))  # every success saw a distinct count: atomic across workers


@needs_redis
def test_revocation_reaches_every_worker_within_a_second(transactional_db):
    from apps.customers.services import token_revoke

    issued = make_token(customer="revoked")
    with live_server(workers=2) as base:
        headers = {"Authorization": f"Bearer {issued.secret}"}
        assert all(httpx.get(f"{base}/v1/models", headers=headers).status_code == 200 for _ in range(6))
        token_revoke(token=issued.token)
        time.sleep(1.0)
        # Four, not more: a revoked token counts against the per-IP budget of anonymous callers (5/s).
        assert [httpx.get(f"{base}/v1/models", headers=headers).status_code for _ in range(4)] == [401] * 4


async def _same_key(base: str, token: str, count: int) -> list[httpx.Response]:
    body = {"model": "fake-slow", "prompt": "one two"}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "concurrent-1"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        return await asyncio.gather(*(client.post("/v1/completions", json=body) for _ in range(count)))


@needs_postgres
def test_twenty_concurrent_requests_with_one_key_execute_once(transactional_db):
    make_fake_model("fake-slow", kind="chat", reply_tokens=10, token_delay_s=0.1)
    token = make_token(customer="concurrent").secret

    with live_server(workers=2) as base:
        responses = asyncio.run(_same_key(base, token, 20))
        after = asyncio.run(_same_key(base, token, 1))[0]

    originals = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    replays = [r for r in responses if r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(originals) == 1
    assert len(originals) + len(replays) + len(in_progress) == 20
    assert all(r.json()["error"]["code"] == "idempotency_request_in_progress" for r in in_progress)
    assert all(r.content == originals[0].content for r in replays)
    assert after.headers["Idempotent-Replayed"] == "true" and after.content == originals[0].content
    assert UsageRecord.objects.count() == 1
