"""Open streams must not hold PostgreSQL pool connections: more concurrent streams than the pool
has connections all finish, and each is charged (found by the multi-node harness, docs/deploy.md)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.db import connection

from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs DATABASE_URL=postgres://… (the pool)"),
]

POOL_SIZE = 2
STREAMS = 6


async def _streams(base: str, token: str) -> list[httpx.Response]:
    body = {"model": "fake-slow-stream", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        return await asyncio.gather(*(client.post("/v1/chat/completions", json=body) for _ in range(STREAMS)))


def test_more_streams_than_pool_connections_all_finish_and_are_charged(transactional_db):
    make_fake_model("fake-slow-stream", kind="chat", reply_tokens=6, token_delay_s=0.2)
    token = make_token(customer="streams").secret

    with live_server(env={"DB_POOL_MAX": str(POOL_SIZE), "DB_POOL_TIMEOUT": "3"}) as base:
        responses = asyncio.run(_streams(base, token))

    assert [r.status_code for r in responses] == [200] * STREAMS
    assert all("event: done" in r.text and "event: error" not in r.text for r in responses)
    assert UsageRecord.objects.count() == STREAMS
