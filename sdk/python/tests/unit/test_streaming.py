"""Streams: chunks, the final usage, `error` events as typed errors, a stream cut short, and closing
one early (the connection is closed, so the server stops generating). Sync and async."""

from __future__ import annotations

import httpx
import pytest

from inference_platform_sdk import APIConnectionError, APIUserAbortError, InternalServerError
from inference_platform_sdk._sse import ServerSentEvent, SSEDecoder

from .scripted import REQUEST_ID, USAGE, Body, Script, event, sse

CHUNKS = [event("chunk", {"index": 0, "delta": "Hello"}), event("chunk", {"index": 1, "delta": " world"})]
DONE = event("done", {"finish_reason": "stop", "usage": USAGE})
UPSTREAM_ERROR = event(
    "error", error={"code": "upstream_error", "message": "The model failed.", "param": None, "details": None}
)


def test_the_decoder_reads_events_and_skips_comments_and_unknown_fields():
    decoder = SSEDecoder()
    lines = ["event: chunk", "data: a", "data: b", "id: 7", "", ": ping", "", "data: plain", ""]

    events = [e for line in lines if (e := decoder.feed(line)) is not None]

    assert events == [ServerSentEvent("chunk", "a\nb"), ServerSentEvent("message", "plain")]


def test_a_stream_yields_typed_chunks_then_final_gives_the_usage():
    script = Script(sse(*CHUNKS, ": ping\n\n", event("novelty", {"x": 1}), DONE))

    stream = script.client().inference.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}])

    assert [(chunk.index, chunk.delta) for chunk in stream] == [(0, "Hello"), (1, " world")]
    done = stream.final()
    assert done.finish_reason == "stop" and done.usage.total_tokens == 3
    assert stream.response_meta.request_id == REQUEST_ID and stream.response_meta.rate_limit is not None
    sent = script.requests[0]
    assert sent.headers["accept"] == "text/event-stream"
    assert script.body(0)["stream"] is True


def test_final_alone_reads_the_whole_stream():
    script = Script(sse(*CHUNKS, DONE))

    assert script.client().inference.complete_stream(model="m", prompt="p").final().usage.completion_tokens == 2


def test_events_split_across_reads_are_put_back_together():
    whole = "".join([*CHUNKS, DONE])
    script = Script(sse(*[whole[i : i + 7] for i in range(0, len(whole), 7)]))

    stream = script.client().inference.complete_stream(model="m", prompt="p")

    assert "".join(chunk.delta for chunk in stream) == "Hello world"


def test_an_error_event_mid_stream_raises_the_typed_error_and_final_raises_it_too():
    script = Script(sse(CHUNKS[0], UPSTREAM_ERROR))
    stream = script.client().inference.complete_stream(model="m", prompt="p")
    deltas = []

    with pytest.raises(InternalServerError) as caught:
        for chunk in stream:
            deltas.append(chunk.delta)

    assert deltas == ["Hello"]
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (502, "upstream_error", REQUEST_ID)
    with pytest.raises(InternalServerError):
        stream.final()


def test_a_stream_that_ends_without_its_done_event_is_a_connection_error():
    script = Script(sse(*CHUNKS))

    with pytest.raises(APIConnectionError, match="before its done event"):
        script.client().inference.complete_stream(model="m", prompt="p").final()


def test_a_connection_lost_mid_stream_is_a_connection_error_and_never_retried():
    script = Script(sse(CHUNKS[0], httpx.ReadError("connection reset")))
    stream = script.client().inference.complete_stream(model="m", prompt="p")

    with pytest.raises(APIConnectionError):
        list(stream)

    assert len(script.requests) == 1


def test_closing_a_stream_early_closes_the_connection_and_final_says_so():
    body = Body(*CHUNKS, DONE)
    script = Script(sse(body=body))

    with script.client().inference.complete_stream(model="m", prompt="p") as stream:
        first = next(iter(stream))

    assert first.delta == "Hello" and body.closed
    with pytest.raises(APIUserAbortError):
        stream.final()


def test_leaving_the_loop_early_closes_the_connection():
    body = Body(*CHUNKS, DONE)
    script = Script(sse(body=body))
    stream = script.client().inference.complete_stream(model="m", prompt="p")

    for _chunk in stream:
        break

    assert body.closed  # CPython finalizes the loop's generator at once; `with` is the portable way


def test_a_stream_is_iterated_once():
    script = Script(sse(*CHUNKS, DONE))
    stream = script.client().inference.complete_stream(model="m", prompt="p")
    list(stream)

    with pytest.raises(RuntimeError, match="once"):
        iter(stream)


def test_the_stream_flag_is_the_methods_choice():
    with pytest.raises(TypeError, match="complete_stream"):
        Script().client().inference.complete(model="m", prompt="p", stream=True)


@pytest.mark.anyio
async def test_async_stream_chunks_and_final():
    script = Script(sse(*CHUNKS, DONE))

    async with script.async_client() as client:
        stream = await client.inference.complete_stream(model="m", prompt="p")
        deltas = [chunk.delta async for chunk in stream]
        done = await stream.final()

    assert deltas == ["Hello", " world"] and done.usage.total_tokens == 3


@pytest.mark.anyio
async def test_async_error_event_raises_the_typed_error():
    script = Script(sse(CHUNKS[0], UPSTREAM_ERROR))
    client = script.async_client()
    stream = await client.inference.chat_stream(model="m", messages=[{"role": "user", "content": "hi"}])

    with pytest.raises(InternalServerError) as caught:
        async for _ in stream:
            pass

    assert caught.value.code == "upstream_error"
    with pytest.raises(InternalServerError):
        await stream.final()


@pytest.mark.anyio
async def test_async_close_closes_the_connection():
    body = Body(*CHUNKS, DONE)
    script = Script(sse(body=body))
    client = script.async_client()

    async with await client.inference.complete_stream(model="m", prompt="p") as stream:
        async for _chunk in stream:
            break

    assert body.closed
    with pytest.raises(APIUserAbortError):
        await stream.final()
