"""A scripted server for the unit tests: httpx's MockTransport answers each request with the next
scripted response (or raises the next scripted exception) and records what the SDK sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from inference_platform_sdk import AsyncClient, Client

BASE_URL = "http://api.test"
TOKEN = "ipk_unit_test"
REQUEST_ID = "req_abcdefghijklmnopqrstuvwx"
META = {"request_id": REQUEST_ID, "timestamp": "2026-03-15T10:00:00Z"}
RATE_HEADERS = {"x-ratelimit-limit": "50", "x-ratelimit-remaining": "49", "x-ratelimit-reset": "1"}

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers request N with step N; `requests` are what the SDK sent, bodies decoded."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) and not isinstance(step, httpx.Response) else step

    def client(self, **options: Any) -> Client:
        http = httpx.Client(transport=httpx.MockTransport(self))
        return Client(token=TOKEN, base_url=BASE_URL, http_client=http, **options)

    def async_client(self, **options: Any) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return AsyncClient(token=TOKEN, base_url=BASE_URL, http_client=http, **options)

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)

    def keys(self) -> list[str | None]:
        return [request.headers.get("idempotency-key") for request in self.requests]


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        json={"data": data, "error": None, "meta": META},
        headers={"x-request-id": REQUEST_ID, **RATE_HEADERS, **(headers or {})},
    )


def failure(
    status: int, code: str, message: str = "No.", param: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    error = {"code": code, "message": message, "param": param, "details": None}
    return httpx.Response(
        status,
        json={"data": None, "error": error, "meta": META},
        headers={"x-request-id": REQUEST_ID, **RATE_HEADERS, **(headers or {})},
    )


def event(name: str, data: Any = None, error: Any = None) -> str:
    return f"event: {name}\ndata: {json.dumps({'data': data, 'error': error, 'meta': META})}\n\n"


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent piece by piece, that remembers whether the SDK closed it early."""

    def __init__(self, *pieces: str | Exception) -> None:
        self.pieces = pieces
        self.closed = False

    def _chunks(self) -> Iterator[bytes]:
        for piece in self.pieces:
            if isinstance(piece, Exception):
                raise piece
            yield piece.encode()

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> Any:
        for chunk in self._chunks():
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def sse(*pieces: str | Exception, body: Body | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        stream=body or Body(*pieces),
        headers={"content-type": "text/event-stream", "x-request-id": REQUEST_ID, **RATE_HEADERS},
    )


COMPLETION = {
    "id": "cmpl_1",
    "model": "fake-chat",
    "created_at": "2026-03-15T10:00:00Z",
    "choices": [{"index": 0, "text": "hello", "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
CHAT = {
    "id": "chatcmpl_1",
    "model": "fake-chat",
    "created_at": "2026-03-15T10:00:00Z",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
EMBEDDINGS = {
    "model": "fake-embed",
    "items": [{"index": 0, "embedding": [0.6, 0.8]}],
    "usage": {"prompt_tokens": 2, "completion_tokens": 0, "total_tokens": 2},
}
USAGE = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def model(model_id: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "kind": "chat",
        "description": "",
        "context_length": 2048,
        "max_output_tokens": 512,
        "created_at": "2026-03-15T10:00:00Z",
    }


def batch(status: str = "queued", completed: int = 0, total: int = 2) -> dict[str, Any]:
    return {
        "id": "batch_1",
        "status": status,
        "counts": {"total": total, "completed": completed, "failed": 0, "cancelled": 0},
        "metadata": {},
        "error": None,
        "created_at": "2026-03-15T10:00:00Z",
        "started_at": None,
        "finished_at": None,
        "cancel_requested_at": None,
    }
