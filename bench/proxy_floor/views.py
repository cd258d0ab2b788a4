"""Forward the body as it came, answer the upstream's bytes: no auth, limit, idempotency, usage or
log. The client is the backend's (`apps.backends.http_session.shared_session`, one pooled aiohttp
session per loop), so the floor pays the same outbound HTTP cost as the project does."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse

from apps.backends.http_session import shared_session

UPSTREAM = os.environ["BENCH_UPSTREAM_URL"].rstrip("/") + "/v1/chat/completions"
HEADERS = {"Content-Type": "application/json"}


async def chat_completions(request: HttpRequest) -> HttpResponse:
    async with shared_session().post(UPSTREAM, data=request.body, headers=HEADERS) as upstream:
        body = await upstream.read()
        return HttpResponse(body, status=upstream.status, content_type="application/json")
