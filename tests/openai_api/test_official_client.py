"""OpenAI's own Python client, unchanged, pointed at `/openai/v1` of a live server: what its users
call works, and its exceptions and retries follow our answers (docs/openai-compatibility.md)."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from apps.request_logs.models import RequestLog
from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model, make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.live]

MESSAGES = [{"role": "user", "content": "alpha beta gamma"}]


@pytest.fixture(scope="module")
def server(django_db_blocker):
    with live_server(env={"REQUEST_LOG_FLUSH_SECONDS": "0.05"}) as base:
        yield base


@pytest.fixture
def secret(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)
    return make_token(customer="openai-user").secret


def client(server: str, token: str, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/openai/v1", api_key=token, **kwargs)


def test_chat_completion(server, secret):
    completion = client(server, secret).chat.completions.create(model="fake-chat", messages=MESSAGES, user="end-42")

    assert completion.object == "chat.completion" and completion.model == "fake-chat"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "alpha beta gamma"
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        3,
        3,
        6,
    )
    assert UsageRecord.objects.get().endpoint == "chat.completions"
    time.sleep(0.3)  # the server's request-log writer
    row = RequestLog.objects.get(path="/openai/v1/chat/completions")
    assert (row.status, row.model, row.end_user, row.completion_tokens) == (200, "fake-chat", "end-42", 3)


def test_chat_stream_with_usage(server, secret):
    stream = client(server, secret).chat.completions.create(
        model="fake-chat", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "alpha beta gamma"
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"
    assert UsageRecord.objects.get().completion_tokens == 3


def test_completion(server, secret):
    completion = client(server, secret).completions.create(model="fake-chat", prompt="one two", max_tokens=5)

    assert completion.object == "text_completion"
    assert completion.choices[0].text == "one two one"
    assert completion.usage.completion_tokens == 3


def test_embeddings_float_and_base64_equal_v1s(server, secret):
    api = client(server, secret)
    texts = ["A cat", "A kitten"]

    as_floats = api.embeddings.create(model="fake-embed", input=texts, encoding_format="float")
    by_default = api.embeddings.create(model="fake-embed", input=texts)  # the client asks for base64
    v1 = httpx.post(
        f"{server}/v1/embeddings",
        headers={"Authorization": f"Bearer {secret}"},
        json={"model": "fake-embed", "input": texts},
    ).json()["data"]

    expected = [item["embedding"] for item in v1["items"]]
    assert [item.embedding for item in as_floats.data] == expected
    for decoded, vector in zip((item.embedding for item in by_default.data), expected, strict=True):
        assert decoded == pytest.approx(vector, abs=1e-6)  # float32 on the wire
    assert as_floats.usage.prompt_tokens == v1["usage"]["prompt_tokens"]


def test_dimensions_the_model_cannot_give_are_refused(server, secret):
    with pytest.raises(openai.BadRequestError) as refused:
        client(server, secret).embeddings.create(model="fake-embed", input="x", dimensions=4)

    assert refused.value.body["param"] == "dimensions" and "8-dimensional" in refused.value.body["message"]


def test_models_list_and_retrieve(server, secret):
    api = client(server, secret)

    ids = [model.id for model in api.models.list()]
    model = api.models.retrieve("fake-chat")

    assert {"fake-chat", "fake-embed"} <= set(ids)
    assert (model.id, model.object, model.owned_by) == ("fake-chat", "model", "inference-platform")


def test_unknown_model_raises_not_found(server, secret):
    api = client(server, secret)

    with pytest.raises(openai.NotFoundError) as missing:
        api.models.retrieve("no-such-model")
    with pytest.raises(openai.NotFoundError):
        api.chat.completions.create(model="no-such-model", messages=MESSAGES)

    assert missing.value.body["code"] == "not_found" and missing.value.body["type"] == "invalid_request_error"
    assert missing.value.response.headers["X-Request-Id"].startswith("req_")


def test_parameters_the_engine_cannot_honour_are_400_naming_them(server, secret):
    api = client(server, secret)

    with pytest.raises(openai.BadRequestError) as n:
        api.chat.completions.create(model="fake-chat", messages=MESSAGES, n=2)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    with pytest.raises(openai.BadRequestError) as tool:
        api.chat.completions.create(model="fake-chat", messages=MESSAGES, tools=tools)

    assert n.value.body["param"] == "n" and tool.value.body["param"] == "tools"
    assert "Only n=1 is supported" in n.value.body["message"]
    assert UsageRecord.objects.count() == 0


def test_a_429_is_retried_as_the_server_says_then_raised(transactional_db):
    # Requests without a valid token get no budget at all here: every attempt is a 429.
    with live_server(env={"RATE_LIMIT_ANONYMOUS_PER_SECOND": "0"}) as limited_server:
        api = client(limited_server, "ipk_00000000_not-a-token", max_retries=2)
        started = time.monotonic()
        with pytest.raises(openai.RateLimitError) as limited:
            api.models.list()

    elapsed = time.monotonic() - started
    headers = limited.value.response.headers
    assert limited.value.status_code == 429 and limited.value.body["code"] == "rate_limited"
    assert int(headers["Retry-After-Ms"]) <= 1000 and "X-RateLimit-Limit" in headers
    # Three attempts (the first and two retries), each retry sent when Retry-After-Ms said, at the
    # start of the next window: at least one whole window between the first and the last.
    assert 0.9 <= elapsed < 5


def test_a_token_over_its_limit_is_served_after_the_wait_the_server_gave(server, transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)
    tight = make_token(customer="tight", rate=1).secret
    api = client(server, tight, max_retries=2)

    api.models.list()  # the window's one request
    started = time.monotonic()
    api.models.list()  # 429, then a retry when the next window opens
    waited = time.monotonic() - started

    assert 0.0 < waited < 1.5
    with pytest.raises(openai.RateLimitError):
        client(server, tight, max_retries=0).models.list()
