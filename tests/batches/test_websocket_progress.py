"""Following a batch over the WebSocket (`{"type": "batch.subscribe"}` on `/v1/stream`): the same
events as `GET /v1/batches/{id}/events`, as frames of one stream id."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.core.db import db_call
from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer
from tests.support.factories import make_fake_model, make_token

from .builders import chat_item, create_batch, embed_item
from .workers import drain_tasks, draining_in_background

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(stream_id: str, batch_id: object) -> dict:
    return {"id": stream_id, "type": "batch.subscribe", "batch_id": batch_id}


async def connect(token: str) -> WebsocketCommunicator:
    from inference_platform.asgi import application

    communicator = WebsocketCommunicator(
        application, "/v1/stream", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def frames_until_end(ws: WebsocketCommunicator) -> list[dict]:
    frames = []
    while not frames or frames[-1]["meta"]["event"] not in ("done", "error"):
        frames.append(await ws.receive_json_from(timeout=20))
    return frames


def follow(token: str, message: dict) -> list[dict]:
    async def scenario() -> list[dict]:
        logged = await db_call(websocket_rows)
        ws = await connect(token)
        await ws.send_json_to(message)
        frames = await frames_until_end(ws)
        await stream_logged(after=logged)
        await ws.disconnect()
        return frames

    return async_to_sync(scenario)()


def websocket_rows() -> int:
    request_log_writer.flush()
    return RequestLog.objects.filter(method="WS").count()


async def stream_logged(*, after: int, within_s: float = 5.0) -> None:
    """The exchange settles and logs a stream after its last frame; this loop must live until it
    has, because the loop's end cancels every task left on it, that one too."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while await db_call(websocket_rows) <= after and loop.time() < deadline:
        await asyncio.sleep(0.02)


def test_a_running_batch_sends_progress_then_done(api, token, settings):
    settings.BATCH_EVENTS_POLL_SECONDS = 0.05
    settings.BATCH_ITEM_CONCURRENCY = 1
    make_fake_model("slow-chat", kind="chat", reply_tokens=2, token_delay_s=0.05)
    batch_id = create_batch(api, token, [chat_item(str(i), model="slow-chat") for i in range(6)]).json()["data"]["id"]

    with draining_in_background():
        frames = follow(token, subscribe("b1", batch_id))

    events = [frame["meta"]["event"] for frame in frames]
    assert events[-1] == "done" and set(events[:-1]) == {"progress"} and len(events) >= 3
    completed = [frame["data"]["counts"]["completed"] for frame in frames]
    assert completed == sorted(completed) and completed[-1] == 6
    assert frames[-1]["data"]["status"] == "completed" and frames[-1]["data"]["id"] == batch_id
    assert {frame["meta"]["stream_id"] for frame in frames} == {"b1"}
    assert len({frame["meta"]["request_id"] for frame in frames}) == 1
    assert frames[0]["meta"]["rate_limit"]["remaining"] < frames[0]["meta"]["rate_limit"]["limit"]
    request_log_writer.flush()
    assert RequestLog.objects.filter(method="WS", status=200, stream=True).count() == 1


def test_a_finished_batch_is_one_done_frame(api, token):
    batch_id = create_batch(api, token, [embed_item("e1")]).json()["data"]["id"]
    drain_tasks()

    frames = follow(token, subscribe("b1", batch_id))

    assert [frame["meta"]["event"] for frame in frames] == ["done"]
    assert frames[0]["data"]["counts"]["completed"] == 1


@pytest.mark.parametrize("batch_id", ["batch_doesnotexist", "OTHER"])
def test_an_unknown_or_foreign_batch_is_not_found(api, token, batch_id):
    if batch_id == "OTHER":
        other = make_token(customer="other").secret
        batch_id = create_batch(api, other, [embed_item("e1")]).json()["data"]["id"]

    frames = follow(token, subscribe("b1", batch_id))

    assert len(frames) == 1 and frames[0]["meta"]["event"] == "error"
    assert frames[0]["error"]["code"] == "not_found" and frames[0]["meta"]["stream_id"] == "b1"


def test_a_missing_batch_id_names_the_param(token):
    frames = follow(token, subscribe("b1", None))

    assert frames[0]["error"]["code"] == "invalid_request" and frames[0]["error"]["param"] == "batch_id"


def test_cancel_ends_a_subscription_with_done_and_the_socket_stays_usable(api, token):
    batch_id = create_batch(api, token, [embed_item("e1")]).json()["data"]["id"]  # no worker: stays queued

    async def scenario() -> tuple[dict, dict, dict]:
        ws = await connect(token)
        await ws.send_json_to(subscribe("b1", batch_id))
        first = await ws.receive_json_from(timeout=10)
        await ws.send_json_to({"id": "b1", "type": "cancel"})
        last = await ws.receive_json_from(timeout=5)  # a request's last frame is `done` or `error`
        assert await ws.receive_nothing(timeout=0.3)
        await ws.send_json_to(subscribe("b2", batch_id))  # the id space is free again
        again = await ws.receive_json_from(timeout=10)
        await ws.disconnect()
        return first, last, again

    first, last, again = async_to_sync(scenario)()

    assert first["meta"]["event"] == "progress" and first["data"]["status"] == "queued"
    assert last["meta"]["event"] == "done" and last["meta"]["stream_id"] == "b1"
    assert last["data"]["status"] == "queued"  # the batch as last seen: it goes on without the subscriber
    assert again["meta"]["stream_id"] == "b2"
    request_log_writer.flush()
    assert RequestLog.objects.filter(method="WS", status=499).count() >= 1
