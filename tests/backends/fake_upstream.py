"""A tiny OpenAI-compatible server on 127.0.0.1 (random port) whose handlers each misbehave one way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


@contextlib.asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    app = web.Application()
    for route, handler in routes.items():  # "/v1/chat/completions" (a POST), or "GET /v1/models"
        method, _, path = route.rpartition(" ")
        app.router.add_route(method or "POST", path, handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def refused_url() -> str:
    """An address nobody listens on: bind a port, then give it back."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(body or {"error": {"message": "boom"}}, status=code, headers=headers)

    return handler


def raw(text: str, content_type: str = "application/json") -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, content_type=content_type)

    return handler


def drop_connection() -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()  # an RST before any response byte, like a server dying
        return web.Response()

    return handler


def slow(seconds: float) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.json_response({})

    return handler


def chat_chunk(text: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": text} if text is not None else {}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(
    events: list[dict[str, Any]],
    *,
    delay_s: float = 0.0,
    drop_after: int | None = None,
    disconnected: asyncio.Event | None = None,
) -> Handler:
    """Streams `events` as SSE; `drop_after` cuts the TCP connection after that many events. Like a
    real server, a request that does not ask to stream gets the same answer whole, as one JSON body
    (or, with `drop_after`, a connection cut in its middle)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if not (await request.json()).get("stream"):
            if drop_after is not None:  # the answer begins, and the connection is cut in its middle
                partial = web.StreamResponse(headers={"Content-Type": "application/json"})
                await partial.prepare(request)
                await partial.write(b'{"choices": [')
                assert request.transport is not None
                request.transport.close()
                return partial
            await asyncio.sleep(delay_s * len(events))
            return web.json_response(whole(events))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for index, event in enumerate(events):
                if drop_after is not None and index == drop_after:
                    assert request.transport is not None
                    request.transport.close()
                    return response
                await response.write(f"data: {json.dumps(event)}\n\n".encode())
                await asyncio.sleep(delay_s)
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            if disconnected is not None:
                disconnected.set()
            raise
        return response

    return handler


def whole(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream chunks as the one JSON body of a non-streamed answer (chat or completion)."""
    chat = any("delta" in choice for event in events for choice in event.get("choices", []))
    text = "".join(
        (choice.get("delta") or {}).get("content") or "" if chat else choice.get("text") or ""
        for event in events
        for choice in event.get("choices", [])
    )
    finish = next(
        (c["finish_reason"] for e in reversed(events) for c in e.get("choices", []) if c.get("finish_reason")), None
    )
    usage = next((event["usage"] for event in reversed(events) if event.get("usage")), None)
    choice = {
        "index": 0,
        "finish_reason": finish,
        **({"message": {"role": "assistant", "content": text}} if chat else {"text": text}),
    }
    return {"choices": [choice], **({"usage": usage} if usage else {})}


def hang_until_disconnect(disconnected: asyncio.Event, limit_s: float = 10.0) -> Handler:
    """Never answers; notices (by polling, bounded) when the client goes away."""

    async def handler(request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while loop.time() < deadline:
            if request.transport is None or request.transport.is_closing():
                disconnected.set()
                break
            await asyncio.sleep(0.02)
        return web.json_response({})

    return handler
