"""SSE streaming (docs/streaming.md): events, errors after the 200, pings, replays, cancellation."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from apps.idempotency.models import IdempotencyRecord
from apps.usage.models import UsageRecord
from tests.support.envelope import REQUEST_ID, assert_error, assert_rate_limit_headers
from tests.support.factories import make_fake_model
from tests.support.live_server import live_server

pytestmark = pytest.mark.django_db(transaction=True)


def parse_sse(text: str) -> list[tuple[str, dict | None]]:
    """[(event, envelope)], with ('ping', None) for comment lines."""
    events = []
    for block in text.strip().split("\n\n"):
        if block.startswith(":"):
            events.append(("ping", None))
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def stream(api, token, model="fake-chat", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": "a b c"}], "stream": True, **extra}
    return api.post("/v1/chat/completions", token=token, json=body)


def test_chunks_then_done_with_usage(api, token):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)

    response = stream(api, token)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert_rate_limit_headers(response)
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["chunk", "chunk", "chunk", "done"]
    assert "".join(env["data"]["delta"] for name, env in events if name == "chunk") == "a b c"
    assert events[-1][1]["data"] == {
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }
    ids = {env["meta"]["request_id"] for _, env in events}
    assert ids == {response.headers["X-Request-Id"]} and REQUEST_ID.match(ids.pop())
    assert all(env["error"] is None for _, env in events)
    assert UsageRecord.objects.get().completion_tokens == 3


def test_completion_stream(api, token):
    make_fake_model("fake-chat", kind="chat", reply_tokens=2)
    body = {"model": "fake-chat", "prompt": "x y", "stream": True}

    events = parse_sse(api.post("/v1/completions", token=token, json=body).text)
    assert [name for name, _ in events] == ["chunk", "chunk", "done"]


def test_failure_mid_stream_is_an_error_event_and_nothing_is_charged(api, token):
    make_fake_model("fake-chat", kind="chat", reply_tokens=10, fail_after_tokens=2, fail_code="upstream_error")

    events = parse_sse(stream(api, token, **{}).text)

    assert [name for name, _ in events] == ["chunk", "chunk", "error"]
    error_envelope = events[-1][1]
    assert error_envelope["data"] is None and error_envelope["error"]["code"] == "upstream_error"
    assert UsageRecord.objects.count() == 0


def test_failure_before_the_first_token_is_a_plain_http_error(api, token):
    make_fake_model("fake-chat", kind="chat", fail_after_tokens=0, fail_code="model_overloaded")

    assert_error(stream(api, token), 503, "model_overloaded")


def test_idle_stream_gets_pings(api, token, settings):
    settings.SSE_PING_SECONDS = 0.05
    make_fake_model("fake-chat", kind="chat", reply_tokens=2, token_delay_s=0.2)

    names = [name for name, _ in parse_sse(stream(api, token).text)]
    assert "ping" in names and names[-1] == "done"


def test_streamed_request_replays_the_same_events(api, token):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "a b c"}], "stream": True}
    headers = {"Idempotency-Key": "stream-1"}

    first = api.post("/v1/chat/completions", token=token, json=body, headers=headers)
    retry = api.post("/v1/chat/completions", token=token, json=body, headers=headers)

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.text == first.text
    assert UsageRecord.objects.count() == 1
    assert IdempotencyRecord.objects.get().state == "completed"


@pytest.mark.live
def test_client_disconnect_stops_generation_and_charges_what_was_produced(token):
    from apps.request_logs.models import RequestLog

    make_fake_model("fake-chat", kind="chat", reply_tokens=2000, token_delay_s=0.02)
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "go"}], "stream": True}

    with live_server() as base:
        with httpx.stream(
            "POST", f"{base}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            received = 0
            for line in response.iter_lines():
                received += line.startswith("event: chunk")
                if received == 5:
                    break
        deadline = time.monotonic() + 10
        while not UsageRecord.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # long enough for the writer to flush the log row

    usage = UsageRecord.objects.get()
    assert 5 <= usage.completion_tokens < 100  # stopped within a few tokens, not all 2000
    log = RequestLog.objects.get(path="/v1/chat/completions")
    assert log.status == 499 and log.stream
