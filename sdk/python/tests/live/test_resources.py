"""Every method against the live server; the happy paths of generation use the real local models."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest

from inference_platform_sdk import AsyncClient, Client

from .server import CHAT_MODEL, EMBEDDING_MODEL, FAILING, FAKE, OVERLOADED, SLOW

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9_-]{24}$")


class TestInferenceOnTheRealLocalModel:
    def test_complete_returns_text_usage_and_the_response_meta(self, client: Client):
        completion = client.inference.complete(model=CHAT_MODEL, prompt="Hello", max_tokens=5)

        assert completion.id.startswith("cmpl_") and completion.model == CHAT_MODEL
        assert isinstance(completion.choices[0].text, str)
        usage = completion.usage
        assert 1 <= usage.completion_tokens <= 5
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        meta = completion.response_meta
        assert meta is not None and REQUEST_ID.match(meta.request_id or "")
        assert meta.envelope_meta is not None and meta.request_id == meta.envelope_meta["request_id"]
        assert meta.rate_limit is not None and meta.rate_limit.limit == 50
        assert meta.idempotency_key and meta.replayed is False and meta.attempts == 1

    def test_chat_returns_an_assistant_message(self, client: Client):
        chat = client.inference.chat(model=CHAT_MODEL, messages=[{"role": "user", "content": "Say hi."}], max_tokens=5)

        assert chat.id.startswith("chatcmpl_")
        assert chat.choices[0].message.role == "assistant" and chat.usage.completion_tokens <= 5

    def test_chat_stream_yields_chunks_then_the_usage(self, client: Client):
        with client.inference.chat_stream(
            model=CHAT_MODEL, messages=[{"role": "user", "content": "Count to three."}], max_tokens=6
        ) as stream:
            deltas = [chunk.delta for chunk in stream]
            done = stream.final()

        assert deltas and "".join(deltas)
        assert done.finish_reason in ("stop", "length") and done.usage.completion_tokens == len(deltas)
        assert REQUEST_ID.match(stream.response_meta.request_id or "") and stream.response_meta.status == 200


class TestInferenceOnTheFakeModel:
    def test_complete_stream_gives_the_exact_chunks_then_the_usage(self, client: Client):
        stream = client.inference.complete_stream(model=FAKE, prompt="hello world")

        assert [chunk.delta for chunk in stream] == ["hello", " world", " hello", " world", " hello"]
        done = stream.final()
        assert done.finish_reason == "stop"
        assert done.usage.model_dump() == {"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}

    def test_final_without_a_loop_reads_the_stream(self, client: Client):
        done = client.inference.complete_stream(model=FAKE, prompt="a b", max_tokens=3).final()

        assert (done.finish_reason, done.usage.completion_tokens) == ("length", 3)


def test_embeddings_are_normalized_384_dimensional_vectors(client: Client):
    result = client.embeddings.create(model=EMBEDDING_MODEL, input=["Hello", "World"])

    assert [item.index for item in result.items] == [0, 1]
    for item in result.items:
        assert len(item.embedding) == 384
        assert abs(math.sqrt(sum(x * x for x in item.embedding)) - 1) < 1e-3
    assert result.usage.prompt_tokens > 0


class TestModels:
    def test_list_is_the_first_page(self, client: Client):
        page = client.models.list(limit=2)

        assert len(page.items) == 2 and isinstance(page.next_cursor, str)

    def test_list_iterates_over_every_page(self, client: Client):
        ids = [model.id for model in client.models.list(limit=2)]

        assert {CHAT_MODEL, EMBEDDING_MODEL, FAKE, SLOW, FAILING, OVERLOADED} <= set(ids)
        assert len(set(ids)) == len(ids)

    def test_get_one_model(self, client: Client):
        model = client.models.get(EMBEDDING_MODEL)

        assert (model.id, model.kind) == (EMBEDDING_MODEL, "embedding")


def test_usage_per_day_and_model_of_the_calling_customer(client: Client):
    client.inference.complete(model=FAKE, prompt="count me")
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()

    report = client.usage.get(start=today, end=today)

    assert report.start.isoformat() == today
    fake = next(item for item in report.items if item.model == FAKE)
    assert fake.requests >= 1 and fake.total_tokens >= 1


@pytest.mark.anyio
async def test_the_async_client_has_every_method(async_client: AsyncClient):
    completion = await async_client.inference.complete(model=FAKE, prompt="one two", max_tokens=2)
    chat = await async_client.inference.chat(model=FAKE, messages=[{"role": "user", "content": "three"}])
    stream = await async_client.inference.chat_stream(model=FAKE, messages=[{"role": "user", "content": "four"}])
    deltas = [chunk.delta async for chunk in stream]
    vectors = await async_client.embeddings.create(model=EMBEDDING_MODEL, input="A cat")
    models = [model.id async for model in async_client.models.list(limit=3)]
    first_page = await async_client.models.list(limit=3)
    one = await async_client.models.get(FAKE)
    usage = await async_client.usage.get()

    assert completion.choices[0].text == "one two"
    assert chat.choices[0].message.content == "three three three three three"
    assert "".join(deltas) == "four four four four four"
    assert (await stream.final()).usage.completion_tokens == 5
    assert len(vectors.items[0].embedding) == 384
    assert FAKE in models and len(first_page.items) == 3 and one.id == FAKE
    assert any(item.model == FAKE for item in usage.items)
