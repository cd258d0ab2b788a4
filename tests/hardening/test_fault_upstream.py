"""An OpenAI-compatible upstream that fails, through the whole API: its failures map to 502/503/504
(docs/api-contract.md, "Errors"; apps/backends/upstream_errors.py): a 500, garbage, a timeout, a
refusal, overload, a connection dropped before or during a stream. Each answer is the documented
error in the envelope, with the rate-limit headers; nothing is charged, the Idempotency-Key is
freed, and neither the upstream's words nor the upstream's API key reach the client or the log."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web

from apps.idempotency.models import IdempotencyRecord
from apps.models_registry.models import Model
from apps.usage.models import UsageRecord
from tests.backends import fake_upstream as up
from tests.hardening.upstream_thread import upstream
from tests.support.envelope import assert_error, assert_rate_limit_headers

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "/v1/chat/completions"
UPSTREAM_KEY = "sk-upstream-key-never-shown-8d1f"
UPSTREAM_SECRET = "upstream-internal-detail-3b7e"  # words in an upstream error that stay there
BODY = {"model": "upstream", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def echo_key_and_fail(request: web.Request) -> web.Response:
    # A careless upstream that quotes our request, key included, in its error.
    text = json.dumps({"error": {"message": f"{UPSTREAM_SECRET} {request.headers.get('Authorization')}"}})
    return web.Response(status=500, text=text, content_type="application/json")


async def echo_handler(request: web.Request) -> web.StreamResponse:
    return echo_key_and_fail(request)


CASES = {
    "500": (up.status(500, {"error": {"message": UPSTREAM_SECRET}}), 502, "upstream_error"),
    "500 quoting our key": (echo_handler, 502, "upstream_error"),
    "401 (our key is wrong)": (up.status(401, {"error": {"message": UPSTREAM_SECRET}}), 502, "upstream_error"),
    "garbage JSON": (up.raw("<html>" + UPSTREAM_SECRET), 502, "upstream_error"),
    "garbage stream": (up.raw("data: {not json\n\n", "text/event-stream"), 502, "upstream_error"),
    "stream without an end": (up.sse([up.chat_chunk("a")], drop_after=1), 502, "upstream_error"),
    "timeout": (up.slow(3.0), 504, "upstream_timeout"),
    "overloaded": (up.status(429, headers={"Retry-After": "7"}), 503, "model_overloaded"),
    "dropped before answering": (up.drop_connection(), 503, "service_unavailable"),
}


@pytest.fixture
def upstream_model(monkeypatch):
    monkeypatch.setenv("HARDENING_UPSTREAM_KEY", UPSTREAM_KEY)

    def point_at(url: str) -> None:
        config = {"base_url": url, "upstream_model": "m", "api_key_env": "HARDENING_UPSTREAM_KEY"}
        Model.objects.update_or_create(
            id="upstream",
            defaults={"kind": "chat", "backend": "openai_compatible", "config": {**config, "read_timeout_s": 0.5}},
        )

    return point_at


def assert_nothing_leaked(text: str) -> None:
    for secret in (UPSTREAM_KEY, UPSTREAM_SECRET, "Traceback", "aiohttp", 'File "'):
        assert secret not in text, secret


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_upstream_failure_maps_to_its_status_and_charges_nothing(api, token, upstream_model, caplog, case):
    handler, status, code = CASES[case]
    caplog.set_level(logging.DEBUG)

    with upstream({CHAT: handler}) as url:
        upstream_model(url)
        response = api.post("/v1/chat/completions", token=token, json=BODY, headers={"Idempotency-Key": "up-1"})

    error = assert_error(response, status, code)
    if status == 503:
        assert response.headers["Retry-After"].isdigit()
    if case == "overloaded":
        assert response.headers["Retry-After"] == "7"
    assert_nothing_leaked(response.text + json.dumps(error))
    assert_nothing_leaked_to_the_log(caplog)
    assert UsageRecord.objects.count() == 0 and IdempotencyRecord.objects.count() == 0


def assert_nothing_leaked_to_the_log(caplog) -> None:
    formatter = logging.Formatter("%(message)s")
    for record in caplog.records:
        line = formatter.format(record) + repr(record.__dict__)
        assert UPSTREAM_KEY not in line, line[:300]


def test_a_stream_cut_by_the_upstream_ends_with_an_error_event(api, token, upstream_model):
    events = [up.chat_chunk("one"), up.chat_chunk(" two"), up.chat_chunk(" three")]

    with upstream({CHAT: up.sse(events, drop_after=2)}) as url:
        upstream_model(url)
        response = api.post("/v1/chat/completions", token=token, json={**BODY, "stream": True})

    assert response.status_code == 200  # the first token was out before the upstream failed
    assert_rate_limit_headers(response)
    names = [block.split("\n")[0] for block in response.text.strip().split("\n\n")]
    # The second chunk may or may not beat the cut; the end is an error event either way.
    assert names[0] == "event: chunk" and names[-1] == "event: error" and len(names) <= 3
    last = json.loads(response.text.strip().split("\n\n")[-1].split("data: ", 1)[1])
    assert last["error"]["code"] == "upstream_error" and last["data"] is None
    assert UsageRecord.objects.count() == 0


def test_a_refused_upstream_is_503_and_the_next_request_finds_it_back(api, token, upstream_model):
    upstream_model(up.refused_url())
    refused = api.post("/v1/chat/completions", token=token, json=BODY)

    done = [up.chat_chunk("ok", finish="stop"), {"choices": [], "usage": up.USAGE}]
    with upstream({CHAT: up.sse(done)}) as url:
        upstream_model(url)
        served = api.post("/v1/chat/completions", token=token, json=BODY)

    assert_error(refused, 503, "service_unavailable")
    assert served.status_code == 200 and served.json()["data"]["choices"][0]["message"]["content"] == "ok"
    assert UsageRecord.objects.count() == 1


def test_an_upstream_400_quoting_our_key_reaches_the_client_without_it(api, token, upstream_model):
    async def reject(request: web.Request) -> web.StreamResponse:
        message = f"bad request from {request.headers.get('Authorization')}"
        return web.json_response({"error": {"message": message}}, status=400)

    with upstream({CHAT: reject}) as url:
        upstream_model(url)
        response = api.post("/v1/chat/completions", token=token, json=BODY)

    error = assert_error(response, 400, "invalid_request")
    assert UPSTREAM_KEY not in response.text and "[redacted]" in error["message"]
