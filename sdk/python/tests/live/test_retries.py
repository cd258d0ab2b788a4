"""Safe retries against the live server: one Idempotency-Key per call, reused by its retries, so a
retry of work that did run is replayed and charged once; waits as long as the server says; a stream
is never retried once its response began."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from inference_platform_sdk import APIConnectionError, Client, InternalServerError
from inference_platform_sdk.types import Completion

from .server import FAKE, OVERLOADED, SLOW, TOKENS, Recorder, Send, recording_client


def fake_usage(client: Client) -> tuple[int, int]:
    item = next((row for row in client.usage.get().items if row.model == FAKE), None)
    return (item.requests, item.total_tokens) if item else (0, 0)


class LoseTheFirstPostsAnswer:
    """The first POST runs on the server, then its answer is lost (the connection resets)."""

    def __init__(self) -> None:
        self.lost = False

    def __call__(self, index: int, request: httpx.Request, send: Send) -> httpx.Response:
        response = send()
        if request.method == "POST" and not self.lost:
            self.lost = True
            response.read()  # the server ran it and committed by now
            raise httpx.RemoteProtocolError("connection reset after the server answered")
        return response


def test_a_response_lost_after_the_server_ran_is_replayed_on_retry_and_charged_once():
    recorder = Recorder(sabotage=LoseTheFirstPostsAnswer())
    with recording_client(recorder, token=TOKENS["replay"]) as client:
        before = fake_usage(client)

        completion = client.inference.complete(model=FAKE, prompt="charge me once")

        after = fake_usage(client)
    posts = recorder.posts()
    assert len(posts) == 2
    key = posts[0].headers["idempotency-key"]
    assert key and posts[1].headers["idempotency-key"] == key
    meta = completion.response_meta
    assert meta is not None and (meta.idempotency_key, meta.attempts, meta.replayed) == (key, 2, True)
    assert (after[0] - before[0], after[1] - before[1]) == (1, completion.usage.total_tokens)


def test_the_callers_key_is_sent_and_repeating_the_call_replays_it(client: Client):
    key = f"sdk-py-{uuid.uuid4()}"

    first = client.inference.complete(model=FAKE, prompt="my own key", idempotency_key=key)
    second = client.inference.complete(model=FAKE, prompt="my own key", idempotency_key=key)

    assert first.response_meta is not None and second.response_meta is not None
    assert (first.response_meta.replayed, second.response_meta.replayed) == (False, True)
    assert second == first
    assert second.response_meta.request_id == first.response_meta.request_id, "a replay names the request that ran"


def test_409_in_progress_is_retried_until_the_first_request_finishes_then_replayed(client: Client):
    key = f"sdk-py-{uuid.uuid4()}"
    results: dict[str, Completion] = {}

    def run_first() -> None:
        results["first"] = client.inference.complete(model=SLOW, prompt="wait", idempotency_key=key)

    first = threading.Thread(target=run_first)
    first.start()
    time.sleep(0.5)  # the first request holds the key by now

    second = client.inference.complete(model=SLOW, prompt="wait", idempotency_key=key, max_retries=4)
    first.join()

    assert second.response_meta is not None and second.response_meta.attempts >= 2
    assert second.response_meta.replayed is True and second.id == results["first"].id


def test_a_429_is_retried_after_the_wait_the_server_asked_for():
    recorder = Recorder()
    time.sleep(1.1)  # a fresh window for the one-per-second token
    with recording_client(recorder, token=TOKENS["rate_one"], max_retries=3) as client:
        client.models.list()  # the window's one request

        page = client.models.list()  # 429 first, then retried

    statuses = [response.status_code for _, response in recorder.answered]
    assert statuses[:2] == [200, 429] and statuses[-1] == 200
    assert page.response_meta.attempts == len(statuses) - 1
    answered_at, limited = recorder.answered[1]
    asked = int(limited.headers["retry-after-ms"]) / 1000
    waited = recorder.sent[2].at - answered_at
    print(f"429 Retry-After-Ms {asked:.3f} s; the SDK waited {waited:.3f} s")
    assert waited >= asked, "never earlier than the server asked"
    assert waited <= asked * 1.1 + 1.0, "about the hint (slack for a busy machine), never the long backoff"


def test_a_5xx_is_retried_max_retries_times_with_one_key_then_raised():
    recorder = Recorder()
    with recording_client(recorder, max_retries=2) as client, pytest.raises(InternalServerError) as caught:
        client.inference.complete(model=OVERLOADED, prompt="busy")

    assert (caught.value.status, caught.value.code) == (503, "model_overloaded")
    assert len(recorder.sent) == 3 and len(set(recorder.keys())) == 1


def test_gets_are_retried_too_and_carry_no_key():
    def reset_first(index: int, request: httpx.Request, send: Send) -> httpx.Response:
        if index == 0:
            raise httpx.ConnectError("connection refused")
        return send()

    recorder = Recorder(sabotage=reset_first)
    with recording_client(recorder) as client:
        page = client.models.list()

    assert page.response_meta.attempts == 2 and recorder.keys() == [None, None]


def test_a_stream_whose_connection_failed_before_any_answer_is_retried_with_the_same_key():
    def refuse_first(index: int, request: httpx.Request, send: Send) -> httpx.Response:
        if index == 0:
            raise httpx.ConnectError("connection refused")
        return send()

    recorder = Recorder(sabotage=refuse_first)
    with recording_client(recorder) as client:
        stream = client.inference.complete_stream(model=FAKE, prompt="retry me")
        done = stream.final()

    first, second = recorder.keys()
    assert first and first == second
    assert stream.response_meta.attempts == 2 and done.usage.completion_tokens == 5


class FirstReadThenReset(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            yield chunk
            break
        raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.stream.close()


def test_a_stream_that_breaks_after_its_first_bytes_is_never_retried():
    def break_after_first_read(index: int, request: httpx.Request, send: Send) -> httpx.Response:
        real = send()
        assert isinstance(real.stream, httpx.SyncByteStream)
        return httpx.Response(real.status_code, headers=real.headers, stream=FirstReadThenReset(real.stream))

    recorder = Recorder(sabotage=break_after_first_read)
    deltas: list[str] = []
    with recording_client(recorder) as client, pytest.raises(APIConnectionError):
        for chunk in client.inference.complete_stream(model=SLOW, prompt="one two three"):
            deltas.append(chunk.delta)

    assert deltas == ["one"] and len(recorder.sent) == 1


def test_a_stream_answered_with_an_http_error_is_not_retried():
    recorder = Recorder()
    with recording_client(recorder) as client, pytest.raises(InternalServerError):
        client.inference.complete_stream(model=OVERLOADED, prompt="busy")

    assert len(recorder.sent) == 1
