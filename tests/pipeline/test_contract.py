"""One contract for every door (docs/architecture.md): the same scenarios through JSON, SSE,
WebSocket and a batch item must end the same way where the doors should agree: the status or
error code, one request-log row with the same fields, exactly one usage row or none, the
Idempotency-Key's final state, and the last message the client gets.

Where a door cannot meet a scenario, the row says so (`n/a`), with the reason: a WebSocket
message has no Idempotency-Key, a batch item is validated, counted and priced when its batch is
created, and a whole JSON answer has nothing to stop half-way.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.idempotency.models import IdempotencyRecord
from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer
from apps.usage.models import UsageRecord
from tests.batches.workers import drain_tasks
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "fake-chat"
MESSAGES = [{"role": "user", "content": "alpha beta gamma"}]


@dataclass
class Outcome:
    """What one request through one door ended as, from the client's side."""

    status: int  # the HTTP status, or the final status an error frame/item result stands for
    code: str | None  # the error code, None for a success
    last: dict[str, Any]  # the last envelope (event, frame, or the item's result) the client got
    last_event: str | None = None  # `done` / `error` for streams
    request_ids: list[str] = field(default_factory=list)  # the request ids the log should hold


# --- The doors, driven as a client would ------------------------------------------------------


class JsonDoor:
    name = "json"
    stream = False

    def send(self, api, token, body, *, key=None) -> Outcome:
        headers = {"Idempotency-Key": key} if key else {}
        response = api.post("/v1/chat/completions", token=token, json=body, headers=headers)
        envelope = response.json()
        code = envelope["error"]["code"] if envelope["error"] else None
        return Outcome(response.status_code, code, envelope, None, [response.headers["X-Request-Id"]])


class SseDoor:
    name = "sse"
    stream = True

    def send(self, api, token, body, *, key=None, disconnect_after: int | None = None) -> Outcome:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        status, events, request_id = async_to_sync(_sse_call)(
            "/v1/chat/completions", {**body, "stream": True}, headers, disconnect_after
        )
        if not events or events[0][0] not in ("chunk", "done", "error"):  # an HTTP error before the stream
            envelope = json.loads(events[0][1]) if events else {}
            return Outcome(status, envelope["error"]["code"], envelope, None, [request_id])
        name, last = events[-1]
        envelope = json.loads(last)
        code = envelope["error"]["code"] if envelope["error"] else None
        return Outcome(status, code, envelope, name, [request_id])


class WebSocketDoor:
    name = "websocket"
    stream = True

    def send(self, api, token, body, *, key=None, cancel_after: int | None = None) -> Outcome:
        assert key is None
        frames = async_to_sync(_socket_call)(token, body, cancel_after)
        last = frames[-1]
        code = last["error"]["code"] if last["error"] else None
        status = _status_of(code)
        return Outcome(status, code, last, last["meta"]["event"], [last["meta"]["request_id"]])


class BatchDoor:
    name = "batch"
    stream = False

    def send(self, api, token, body, *, key=None, cancel: bool = False) -> Outcome:
        headers = {"Idempotency-Key": key} if key else {}
        item = {"custom_id": "one", "endpoint": "/v1/chat/completions", "body": body}
        created = api.post("/v1/batches", token=token, json={"requests": [item]}, headers=headers)
        if created.status_code != 201:  # refused at creation: the item never exists
            envelope = created.json()
            return Outcome(created.status_code, envelope["error"]["code"], envelope, None, [])
        batch_id = created.json()["data"]["id"]
        if cancel:
            api.post(f"/v1/batches/{batch_id}/cancel", token=token)
        drain_tasks()
        result = api.get(f"/v1/batches/{batch_id}/results", token=token).json()["data"]["items"][0]
        code = result["error"]["code"] if result["error"] else None
        status = 499 if result["status"] == "cancelled" else _status_of(code)
        ran = result["status"] in ("completed", "failed")
        return Outcome(status, code, result, None, [f"{batch_id}:0"] if ran else [])


DOORS = [JsonDoor(), SseDoor(), WebSocketDoor(), BatchDoor()]


def _status_of(code: str | None) -> int:
    from apps.core.errors import ERRORS_BY_CODE

    return 200 if code is None else ERRORS_BY_CODE[code].status


async def _sse_call(
    path: str, body: dict[str, Any], headers: dict[str, str], disconnect_after: int | None
) -> tuple[int, list[tuple[str, str]], str]:
    """The ASGI app driven as uvicorn would drive it, so that the client can walk away mid-stream."""
    from inference_platform.asgi import application

    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(raw)).encode()), (b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    gone = asyncio.Event()
    sent_body = False
    status, headers_out, text = 0, {}, ""

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers_out, text
        if message["type"] == "http.response.start":
            status = message["status"]
            headers_out = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            text += message.get("body", b"").decode()
            if disconnect_after is not None and text.count("event: chunk") >= disconnect_after:
                gone.set()

    await application(scope, receive, send)
    await asyncio.sleep(0.2)  # the stream settles and logs after the client left
    if not headers_out.get("content-type", "").startswith("text/event-stream"):
        return status, [("body", text)], headers_out.get("x-request-id", "")
    events = []
    for block in text.strip().split("\n\n"):
        if block and not block.startswith(":"):
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((lines["event"], lines["data"]))
    return status, events, headers_out.get("x-request-id", "")


async def _socket_call(token: str, body: dict[str, Any], cancel_after: int | None) -> list[dict[str, Any]]:
    from inference_platform.asgi import application

    ws = WebsocketCommunicator(application, "/v1/stream", headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"id": "s1", "type": "chat.completions", "body": body})
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["meta"]["event"] not in ("done", "error"):
        frames.append(await ws.receive_json_from(timeout=10))
        chunks = sum(frame["meta"]["event"] == "chunk" for frame in frames)
        if cancel_after is not None and chunks == cancel_after and frames[-1]["meta"]["event"] == "chunk":
            await ws.send_json_to({"id": "s1", "type": "cancel"})
            cancel_after = None
    await asyncio.sleep(0.2)  # the request settles and logs after its last frame
    await ws.disconnect()
    return frames


# --- Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def tokens(transactional_db):
    return make_token(customer="contract")


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": MESSAGES, **extra}


def log_rows(request_ids: list[str]) -> list[RequestLog]:
    request_log_writer.flush(everything=True)
    return list(RequestLog.objects.filter(request_id__in=request_ids).order_by("id"))


def door_ids() -> list[str]:
    return [door.name for door in DOORS]


# --- The scenarios -----------------------------------------------------------------------------


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_success(door, api, tokens):
    make_fake_model(MODEL, reply_tokens=3)

    outcome = door.send(api, tokens.secret, chat())

    assert (outcome.status, outcome.code) == (200, None)
    if door.stream:
        assert outcome.last_event == "done" and outcome.last["data"]["finish_reason"] == "stop"
    usage = UsageRecord.objects.get()
    assert (usage.prompt_tokens, usage.completion_tokens) == (3, 3)
    [row] = log_rows(outcome.request_ids)
    assert (row.status, row.error_code, row.model, row.customer_id) == (200, "", MODEL, tokens.token.customer_id)
    assert (row.prompt_tokens, row.completion_tokens, row.stream) == (3, 3, door.stream)
    assert row.token_prefix == tokens.token.prefix


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_validation_error(door, api, tokens):
    make_fake_model(MODEL)

    outcome = door.send(api, tokens.secret, chat(max_tokens=-5))

    # A batch refuses the whole batch at creation (docs/batches.md): the same 400 and param.
    assert (outcome.status, outcome.code) == (400, "invalid_request")
    assert outcome.last["error"]["param"].endswith("max_tokens")
    assert UsageRecord.objects.count() == 0
    if door.name != "batch":
        [row] = log_rows(outcome.request_ids)
        assert (row.status, row.error_code, row.prompt_tokens) == (400, "invalid_request", None)


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_unknown_model(door, api, tokens):
    outcome = door.send(api, tokens.secret, chat(model="no-such-model"))

    # Inside a batch an unknown model is a bad item of the batch: 400 naming it (docs/batches.md).
    expected = (400, "invalid_request") if door.name == "batch" else (404, "not_found")
    assert (outcome.status, outcome.code) == expected
    assert "no-such-model" in outcome.last["error"]["message"]
    assert UsageRecord.objects.count() == 0
    if door.name != "batch":
        [row] = log_rows(outcome.request_ids)
        assert (row.status, row.error_code) == (404, "not_found")


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_rate_limited(door, api, clock, transactional_db):
    make_fake_model(MODEL)
    limited = make_token(customer="tight", rate=1)
    assert api.get("/v1/models", token=limited.secret).status_code == 200  # the window's one request

    outcome = door.send(api, limited.secret, chat())

    assert (outcome.status, outcome.code) == (429, "rate_limited")
    assert UsageRecord.objects.count() == 0
    if door.name == "websocket":
        assert outcome.last["meta"]["rate_limit"]["remaining"] == 0
    if door.name != "batch":  # a batch's items were counted as one request, its creation
        [row] = log_rows(outcome.request_ids)
        assert (row.status, row.error_code, row.customer_id) == (429, "rate_limited", limited.token.customer_id)


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_upstream_error_before_the_first_token(door, api, tokens, settings):
    settings.BATCH_ITEM_MAX_ATTEMPTS = 1  # a batch retries a 502 while it has attempts left
    make_fake_model(MODEL, fail_after_tokens=0, fail_code="upstream_error")

    outcome = door.send(api, tokens.secret, chat())

    # Before the first token, even a stream is answered with a plain HTTP error (docs/streaming.md).
    assert (outcome.status, outcome.code) == (502, "upstream_error")
    if door.name == "websocket":
        assert outcome.last_event == "error"
    assert UsageRecord.objects.count() == 0
    [row] = log_rows(outcome.request_ids)
    assert (row.status, row.error_code, row.model, row.completion_tokens) == (502, "upstream_error", MODEL, None)


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_upstream_error_after_the_first_token(door, api, tokens, settings):
    settings.BATCH_ITEM_MAX_ATTEMPTS = 1
    make_fake_model(MODEL, reply_tokens=5, fail_after_tokens=2, fail_code="upstream_error")

    outcome = door.send(api, tokens.secret, chat())

    assert outcome.code == "upstream_error"
    if door.stream:  # the 200 went out with the first token: the stream ends with an error event
        assert outcome.last_event == "error" and outcome.last["data"] is None
        assert door.name == "websocket" or outcome.status == 200
    else:
        assert outcome.status == 502
    assert UsageRecord.objects.count() == 0  # a failed answer is not charged
    [row] = log_rows(outcome.request_ids)
    assert (row.status, row.error_code, row.stream) == (502, "upstream_error", door.stream)


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_client_stops_the_request(door, api, tokens):
    make_fake_model(MODEL, reply_tokens=400, token_delay_s=0.01)
    if door.name == "json":
        pytest.skip("n/a: a whole JSON answer has nothing to stop half-way")

    if door.name == "sse":
        outcome = door.send(api, tokens.secret, chat(), disconnect_after=3)
    elif door.name == "websocket":
        outcome = door.send(api, tokens.secret, chat(), cancel_after=3)
    else:
        outcome = door.send(api, tokens.secret, chat(), cancel=True)

    if door.name == "batch":  # cancelled before it ran: nothing ran, nothing charged, nothing logged
        assert (outcome.status, outcome.last["status"]) == (499, "cancelled")
        assert UsageRecord.objects.count() == 0 and outcome.request_ids == []
        return
    if door.name == "websocket":  # a request's last frame is `done`, also when cancelled
        assert outcome.last_event == "done" and outcome.last["data"]["finish_reason"] == "cancelled"
        assert outcome.last["data"]["usage"]["completion_tokens"] >= 3
    usage = UsageRecord.objects.get()  # what was produced is charged
    assert 3 <= usage.completion_tokens < 400
    [row] = log_rows(outcome.request_ids)
    assert (row.status, row.completion_tokens) == (499, usage.completion_tokens)


@pytest.mark.parametrize("door", DOORS, ids=door_ids())
def test_idempotent_replay(door, api, tokens):
    make_fake_model(MODEL, reply_tokens=3)
    if door.name == "websocket":
        pytest.skip("n/a: a WebSocket message carries no Idempotency-Key")

    first = door.send(api, tokens.secret, chat(), key="contract-key")
    again = door.send(api, tokens.secret, chat(), key="contract-key")

    assert (first.status, again.status) == (200, 200)
    assert again.last == first.last  # the same answer, byte for byte where it is bytes
    assert UsageRecord.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.state == "completed"
    if door.name != "batch":
        rows = log_rows(first.request_ids)
        assert [(row.status, row.replayed) for row in rows] == [(200, False)]
        request_log_writer.flush(everything=True)
        assert RequestLog.objects.filter(replayed=True, status=200).count() == 1
