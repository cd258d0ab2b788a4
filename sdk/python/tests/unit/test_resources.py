"""Every method: what goes on the wire, and the envelope's `data` as typed objects with their
response metadata. Sync and async."""

from __future__ import annotations

import datetime as dt

import pytest

from inference_platform_sdk import AsyncPage, SyncPage
from inference_platform_sdk.types import (
    BatchRequestParam,
    ChatCompletion,
    ChatCompletionBatchResult,
    Completion,
    EmbeddingBatchResult,
    EmbeddingList,
    Model,
)

from .scripted import CHAT, COMPLETION, EMBEDDINGS, REQUEST_ID, USAGE, Script, batch, model, ok


def sent(script: Script, index: int = 0) -> tuple[str, str]:
    request = script.requests[index]
    return request.method, str(request.url)


def test_complete_posts_the_params_and_returns_a_completion_with_its_meta():
    script = Script(ok(COMPLETION, headers={"idempotent-replayed": "true"}))

    result = script.client().inference.complete(model="m", prompt="Hello", max_tokens=5)

    assert sent(script) == ("POST", "http://api.test/v1/completions")
    assert script.body(0) == {"model": "m", "prompt": "Hello", "max_tokens": 5, "stream": False}
    assert isinstance(result, Completion)
    assert result.choices[0].text == "hello" and result.created_at == dt.datetime(
        2026, 3, 15, 10, tzinfo=dt.timezone.utc
    )
    meta = result.response_meta
    assert meta is not None
    assert (meta.status, meta.request_id, meta.replayed, meta.attempts) == (200, REQUEST_ID, True, 1)
    assert meta.timestamp == "2026-03-15T10:00:00Z"
    assert (meta.rate_limit.limit, meta.rate_limit.remaining, meta.rate_limit.reset) == (50, 49, 1)  # type: ignore[union-attr]
    assert meta.idempotency_key == script.requests[0].headers["idempotency-key"]


def test_chat_and_embeddings():
    script = Script(ok(CHAT), ok(EMBEDDINGS))
    client = script.client()

    chat = client.inference.chat(model="m", messages=[{"role": "user", "content": "hi"}])
    vectors = client.embeddings.create(model="e", input=["a"])

    assert isinstance(chat, ChatCompletion) and chat.choices[0].message.content == "hi"
    assert isinstance(vectors, EmbeddingList) and vectors.items[0].embedding == [0.6, 0.8]
    assert [sent(script, i)[1] for i in range(2)] == [
        "http://api.test/v1/chat/completions",
        "http://api.test/v1/embeddings",
    ]
    assert script.body(1) == {"model": "e", "input": ["a"]}


def test_equal_data_is_equal_whichever_response_carried_it():
    script = Script(ok(model("m")), ok(model("m"), headers={"x-request-id": "req_other"}))
    client = script.client()

    assert client.models.get("m") == client.models.get("m")


def test_models_get_quotes_the_id():
    script = Script(ok(model("m")))

    script.client().models.get("a/b")

    assert sent(script) == ("GET", "http://api.test/v1/models/a%2Fb")


def test_a_list_is_its_first_page_and_iterates_over_every_page():
    script = Script(
        ok({"items": [model("a"), model("b")], "next_cursor": "c2"}),
        ok({"items": [model("a"), model("b")], "next_cursor": "c2"}),
        ok({"items": [model("c")], "next_cursor": None}),
    )
    client = script.client()

    page = client.models.list(limit=2)
    every = [m.id for m in client.models.list(limit=2)]

    assert isinstance(page, SyncPage) and [m.id for m in page.items] == ["a", "b"]
    assert page.next_cursor == "c2" and page.has_next_page()
    assert page.response_meta.request_id == REQUEST_ID
    assert every == ["a", "b", "c"]
    assert [str(r.url) for r in script.requests[1:]] == [
        "http://api.test/v1/models?limit=2",
        "http://api.test/v1/models?limit=2&cursor=c2",
    ]


def test_usage_sends_its_dates():
    report = {"start": "2026-03-01", "end": "2026-03-15", "items": []}
    script = Script(ok(report))

    result = script.client().usage.get(start="2026-03-01", end="2026-03-15")

    assert result.start == dt.date(2026, 3, 1)
    assert sent(script) == ("GET", "http://api.test/v1/usage?start=2026-03-01&end=2026-03-15")


def test_batches_create_get_list_cancel():
    script = Script(ok(batch(), status=201), ok(batch("running")), ok({"items": [batch()], "next_cursor": None}))
    script.steps.append(ok(batch("cancelling")))
    client = script.client()
    requests: list[BatchRequestParam] = [
        {"custom_id": "a", "endpoint": "/v1/embeddings", "body": {"model": "e", "input": "x"}}
    ]

    created = client.batches.create(requests=requests, metadata={"job": "n"}, idempotency_key="nightly")
    running = client.batches.get("batch_1")
    listed = client.batches.list(limit=1)
    cancelling = client.batches.cancel("batch_1")

    assert created.response_meta is not None and created.response_meta.status == 201
    assert (running.status, [b.id for b in listed.items], cancelling.status) == ("running", ["batch_1"], "cancelling")
    assert [sent(script, i) for i in range(4)] == [
        ("POST", "http://api.test/v1/batches"),
        ("GET", "http://api.test/v1/batches/batch_1"),
        ("GET", "http://api.test/v1/batches?limit=1"),
        ("POST", "http://api.test/v1/batches/batch_1/cancel"),
    ]
    assert script.body(0) == {"requests": requests, "metadata": {"job": "n"}}
    assert script.requests[0].headers["idempotency-key"] == "nightly"
    assert script.requests[3].headers["idempotency-key"] and not script.requests[3].content


def test_batch_results_are_narrowed_by_their_endpoint():
    results = [
        {"custom_id": "c", "endpoint": "/v1/chat/completions", "status": "completed", "response": CHAT, "error": None,
         "usage": USAGE},
        {"custom_id": "e", "endpoint": "/v1/embeddings", "status": "completed", "response": EMBEDDINGS,
         "error": None, "usage": USAGE},
        {"custom_id": "p", "endpoint": "/v1/completions", "status": "pending", "response": None, "error": None,
         "usage": None},
    ]  # fmt: skip
    script = Script(ok({"items": results, "next_cursor": None}))

    page = script.client().batches.results("batch_1", limit=3)

    chat, embedding, pending = page.items
    assert isinstance(chat, ChatCompletionBatchResult) and isinstance(embedding, EmbeddingBatchResult)
    if chat.endpoint == "/v1/chat/completions":  # a type checker narrows `response` here
        assert chat.response is not None and chat.response.choices[0].message.content == "hi"
    assert isinstance(embedding.response, EmbeddingList)
    assert pending.response is None
    assert sent(script) == ("GET", "http://api.test/v1/batches/batch_1/results?limit=3")


@pytest.mark.anyio
async def test_async_methods_and_the_async_paginator():
    script = Script(
        ok(COMPLETION),
        ok({"items": [model("a")], "next_cursor": "c2"}),
        ok({"items": [model("b")], "next_cursor": None}),
        ok({"items": [model("a")], "next_cursor": "c2"}),
        ok(model("a")),
        ok({"start": "2026-03-01", "end": "2026-03-01", "items": []}),
    )
    async with script.async_client() as client:
        completion = await client.inference.complete(model="m", prompt="p")
        every = [m.id async for m in client.models.list(limit=1)]
        page = await client.models.list(limit=1)
        one = await client.models.get("a")
        usage = await client.usage.get(start="2026-03-01")

    assert completion.response_meta is not None and completion.response_meta.idempotency_key
    assert every == ["a", "b"]
    assert isinstance(page, AsyncPage) and page.next_cursor == "c2"
    assert isinstance(one, Model) and usage.items == []
