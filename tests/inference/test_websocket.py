"""WebSocket `/v1/stream` (docs/streaming.md): auth, per-message limits, concurrent streams, cancel."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer
from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)


def chat(stream_id: str, content: str = "a b c", **body) -> dict:
    return {
        "id": stream_id,
        "type": "chat.completions",
        "body": {"model": "fake-chat", "messages": [{"role": "user", "content": content}], **body},
    }


async def connect(token: str | None) -> WebsocketCommunicator:
    from inference_platform.asgi import application

    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    communicator = WebsocketCommunicator(application, "/v1/stream", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def close(communicator: WebsocketCommunicator) -> None:
    await communicator.disconnect()
    await asyncio.sleep(0.2)  # the server finishes settling and logging after the last frame


async def frames_until_done(communicator: WebsocketCommunicator, streams: int) -> dict[str, list[dict]]:
    """Frames per stream id until `streams` streams have ended (done or error)."""
    by_stream: dict[str, list[dict]] = defaultdict(list)
    ended = 0
    while ended < streams:
        frame = await communicator.receive_json_from(timeout=10)
        by_stream[frame["meta"]["stream_id"]].append(frame)
        ended += frame["meta"]["event"] in ("done", "error")
    return by_stream


@pytest.fixture(autouse=True)
def fake_model(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)


def test_stream_over_websocket(token):
    async def scenario():
        ws = await connect(token)
        await ws.send_json_to(chat("s1"))
        frames = (await frames_until_done(ws, 1))["s1"]
        await close(ws)
        return frames

    frames = async_to_sync(scenario)()

    assert [f["meta"]["event"] for f in frames] == ["chunk", "chunk", "chunk", "done"]
    assert all(set(f) == {"data", "error", "meta"} for f in frames)
    assert frames[-1]["data"]["usage"]["completion_tokens"] == 3
    assert frames[0]["meta"]["rate_limit"] == {"limit": 50, "remaining": 49, "reset": 1}
    assert len({f["meta"]["request_id"] for f in frames}) == 1
    assert UsageRecord.objects.count() == 1
    request_log_writer.flush()
    assert RequestLog.objects.filter(path="/v1/stream", status=200, stream=True).count() == 1


def test_concurrent_streams_on_one_socket(token):
    async def scenario():
        ws = await connect(token)
        for stream_id in ("a", "b", "c"):
            await ws.send_json_to(chat(stream_id))
        frames = await frames_until_done(ws, 3)
        await close(ws)
        return frames

    frames = async_to_sync(scenario)()

    assert set(frames) == {"a", "b", "c"}
    assert all(f[-1]["meta"]["event"] == "done" for f in frames.values())
    assert UsageRecord.objects.count() == 3


def test_bad_token_in_handshake_gets_an_error_frame_and_close(transactional_db):
    async def scenario():
        ws = await connect("ipk_nope_nope")
        frame = await ws.receive_json_from()
        closed = await ws.receive_output()
        return frame, closed

    frame, closed = async_to_sync(scenario)()

    assert frame["error"]["code"] == "invalid_token"
    assert closed == {"type": "websocket.close", "code": 4401}


def test_token_in_first_message_and_requests_before_auth(token):
    async def scenario():
        ws = await connect(None)
        await ws.send_json_to(chat("early"))
        early = await ws.receive_json_from()
        await ws.send_json_to({"type": "auth", "token": token})
        await ws.send_json_to(chat("later"))
        frames = await frames_until_done(ws, 1)
        await close(ws)
        return early, frames

    early, frames = async_to_sync(scenario)()

    assert early["error"]["code"] == "authentication_required"
    assert frames["later"][-1]["meta"]["event"] == "done"


def test_bad_frames_get_errors_and_the_socket_stays_open(token):
    async def scenario():
        ws = await connect(token)
        await ws.send_to(text_data="{not json")
        bad_json = await ws.receive_json_from()
        await ws.send_json_to({"id": "x", "type": "teleport"})
        bad_type = await ws.receive_json_from()
        await ws.send_json_to(chat("v", max_tokens=-5))
        invalid = await ws.receive_json_from()
        await ws.send_json_to(chat("ok"))
        frames = await frames_until_done(ws, 1)
        await close(ws)
        return bad_json, bad_type, invalid, frames

    bad_json, bad_type, invalid, frames = async_to_sync(scenario)()

    assert bad_json["error"]["code"] == "invalid_json"
    assert bad_type["error"]["param"] == "type"
    assert invalid["error"]["code"] == "invalid_request" and invalid["error"]["param"] == "max_tokens"
    assert invalid["meta"]["stream_id"] == "v"
    assert frames["ok"][-1]["meta"]["event"] == "done"


def test_each_message_is_rate_limited(transactional_db, clock):
    secret = make_token(customer="ws-tight", rate=2).secret

    async def scenario():
        ws = await connect(secret)
        for stream_id in ("1", "2", "3"):
            await ws.send_json_to(chat(stream_id))
        frames = await frames_until_done(ws, 3)
        await close(ws)
        return frames

    frames = async_to_sync(scenario)()

    codes = sorted(f[-1]["error"]["code"] if f[-1]["error"] else "done" for f in frames.values())
    assert codes == ["done", "done", "rate_limited"]
    limited = next(f[-1] for f in frames.values() if f[-1]["error"])
    assert limited["meta"]["rate_limit"]["remaining"] == 0


def test_cancel_stops_one_stream(token):
    make_fake_model("fake-chat", kind="chat", reply_tokens=500, token_delay_s=0.01)

    async def scenario():
        ws = await connect(token)
        await ws.send_json_to(chat("long"))
        for _ in range(3):
            await ws.receive_json_from(timeout=5)
        await ws.send_json_to({"id": "long", "type": "cancel"})
        await asyncio.sleep(0.3)
        await close(ws)

    async_to_sync(scenario)()

    usage = UsageRecord.objects.get()
    assert 3 <= usage.completion_tokens < 100
