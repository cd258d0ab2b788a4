"""What the live tests share: the throwaway server that scripts/with-sdk-server.sh started (its URL,
tokens and fake models), its records for server-side checks, and transports that record, and can
sabotage, what the SDK sends."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from inference_platform_sdk import AsyncClient, Client


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the live tests through scripts/with-sdk-server.sh")
    return value


BASE_URL = required("BASE_URL")
TOKENS = {
    "main": required("API_TOKEN"),  # customer sdk-test: most tests
    "rate_one": required("API_TOKEN_RATE1"),  # 1 request per second
    "replay": required("API_TOKEN_REPLAY"),  # customer sdk-test-replay: nothing else charges it
}
VAR_DIR = Path(required("VAR_DIR"))

CHAT_MODEL = "smollm2-135m-instruct"  # the real local models, for the happy paths
EMBEDDING_MODEL = "all-minilm-l6-v2"
FAKE = "fake-chat"  # 5 tokens, echoing the prompt's words
SLOW = "fake-slow"  # 5 tokens, 0.3 s each
FAILING = "fake-fail"  # 2 tokens, then an upstream_error
OVERLOADED = "fake-overloaded"  # 503 model_overloaded before any token


@dataclass(frozen=True)
class LoggedRequest:
    status: int
    completion_tokens: int | None
    stream: bool


def request_log(request_id: str, *, within: float = 15.0) -> LoggedRequest:
    """The server's request-log row of `request_id` (written off the hot path: waited for)."""
    database = f"file:{VAR_DIR / 'db.sqlite3'}?mode=ro"
    deadline = time.monotonic() + within
    while True:
        with sqlite3.connect(database, uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT status, completion_tokens, stream FROM request_logs_requestlog WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        if row is not None:
            return LoggedRequest(status=row[0], completion_tokens=row[1], stream=bool(row[2]))
        if time.monotonic() > deadline:
            raise AssertionError(f"no request-log row for {request_id} within {within} s")
        time.sleep(0.1)


@dataclass
class Sent:
    method: str
    url: str
    headers: httpx.Headers
    at: float


Send = Callable[[], httpx.Response]


@dataclass
class Recorder:
    """Records every request (and when it left) and every response. `sabotage(index, request, send)`
    decides the outcome of request number `index`: `send()` sends it for real."""

    sabotage: Callable[[int, httpx.Request, Send], httpx.Response] | None = None
    sent: list[Sent] = field(default_factory=list)
    answered: list[tuple[float, httpx.Response]] = field(default_factory=list)

    def keys(self) -> list[str | None]:
        return [s.headers.get("idempotency-key") for s in self.sent]

    def posts(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "POST"]


class RecordingTransport(httpx.HTTPTransport):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorder = self.recorder
        recorder.sent.append(Sent(request.method, str(request.url), request.headers, time.monotonic()))

        def send() -> httpx.Response:
            return httpx.HTTPTransport.handle_request(self, request)

        index = len(recorder.sent) - 1
        response = recorder.sabotage(index, request, send) if recorder.sabotage else send()
        recorder.answered.append((time.monotonic(), response))
        return response


class AsyncRecordingTransport(httpx.AsyncHTTPTransport):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.recorder.sent.append(Sent(request.method, str(request.url), request.headers, time.monotonic()))
        response = await super().handle_async_request(request)
        self.recorder.answered.append((time.monotonic(), response))
        return response


def recording_client(recorder: Recorder, *, token: str = TOKENS["main"], **options: object) -> Client:
    http = httpx.Client(transport=RecordingTransport(recorder))
    return Client(token=token, base_url=BASE_URL, http_client=http, **options)  # type: ignore[arg-type]


def async_recording_client(recorder: Recorder, *, token: str = TOKENS["main"], **options: object) -> AsyncClient:
    http = httpx.AsyncClient(transport=AsyncRecordingTransport(recorder))
    return AsyncClient(token=token, base_url=BASE_URL, http_client=http, **options)  # type: ignore[arg-type]
