"""OpenAICompatibleBackend against a fake upstream: parsing, usage fallbacks, failure mapping, cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apps.backends.base import ChatMessage, GenerationParams, StreamEnd, TextDelta
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.upstream_errors import ContextLengthExceeded
from apps.core.errors import ModelOverloaded, ServiceUnavailable, UpstreamError, UpstreamTimeout

from . import fake_upstream as up
from .conftest import Runner

MESSAGES = [ChatMessage(role="user", content="Hi")]
PARAMS = GenerationParams(max_tokens=8)
CHAT = "/v1/chat/completions"


def backend(base_url: str, **options: Any) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(base_url=base_url, upstream_model="m", api_key="sk-secret", **options)


async def collect(stream: Any) -> list[Any]:
    return [event async for event in stream]


def test_chat_collects_the_upstream_stream_with_its_usage(run: Runner) -> None:
    events = [up.chat_chunk("Hello"), up.chat_chunk(" there", finish="stop"), {"choices": [], "usage": up.USAGE}]

    async def scenario() -> Any:
        async with up.serve({CHAT: up.sse(events)}) as url:
            return await backend(url + "/v1").chat(messages=MESSAGES, params=PARAMS)

    generation = run(scenario())

    assert (generation.text, generation.finish_reason) == ("Hello there", "stop")
    assert (generation.usage.prompt_tokens, generation.usage.completion_tokens) == (3, 2)


def test_stream_yields_deltas_then_end_with_usage(run: Runner) -> None:
    events = [
        up.chat_chunk("Hel"),
        up.chat_chunk("lo"),
        up.chat_chunk(finish="length"),
        {"choices": [], "usage": up.USAGE},
    ]

    async def scenario() -> list[Any]:
        async with up.serve({CHAT: up.sse(events)}) as url:
            return await collect(backend(url).chat_stream(messages=MESSAGES, params=PARAMS))

    result = run(scenario())

    assert result[:2] == [TextDelta("Hel"), TextDelta("lo")]
    assert isinstance(result[2], StreamEnd) and result[2].finish_reason == "length"
    assert result[2].usage.total_tokens == 5


def test_stream_without_usage_counts_via_tokenize(run: Runner) -> None:
    events = [up.chat_chunk("a"), up.chat_chunk("b"), up.chat_chunk("c", finish="stop")]

    async def tokenize(request: Any) -> Any:
        return up.web.json_response({"tokens": [1, 2, 3, 4]})

    async def scenario() -> list[Any]:
        async with up.serve({CHAT: up.sse(events), "/tokenize": tokenize}) as url:
            return await collect(backend(url).chat_stream(messages=MESSAGES, params=PARAMS))

    end = run(scenario())[-1]

    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == (4, 3)


def test_usage_is_estimated_when_upstream_has_no_tokenize(run: Runner) -> None:
    events = [up.chat_chunk("1234"), up.chat_chunk("5678", finish="stop")]

    async def scenario() -> Any:
        async with up.serve({CHAT: up.sse(events)}) as url:
            return await backend(url).chat(messages=[ChatMessage("user", "abcdefghijkl")], params=PARAMS)

    usage = run(scenario()).usage

    assert (usage.prompt_tokens, usage.completion_tokens) == (3, 2)  # 4 characters a token; 2 deltas


def test_refused_connection_is_service_unavailable(run: Runner) -> None:
    with pytest.raises(ServiceUnavailable):
        run(backend(up.refused_url()).chat(messages=MESSAGES, params=PARAMS))


def test_connection_dropped_before_any_response_is_service_unavailable(run: Runner) -> None:
    async def scenario() -> Any:
        async with up.serve({CHAT: up.drop_connection()}) as url:
            return await backend(url).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(ServiceUnavailable):
        run(scenario())


def test_slow_upstream_is_upstream_timeout(run: Runner) -> None:
    async def scenario() -> Any:
        async with up.serve({CHAT: up.slow(2.0)}) as url:
            return await backend(url, read_timeout_s=0.2).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(UpstreamTimeout):
        run(scenario())


@pytest.mark.parametrize(
    "handler",
    [
        up.status(500),
        up.status(401),
        up.raw("not json"),
        up.raw("data: not json\n\n", "text/event-stream"),
        up.raw('data: {"choices": "nope"}\n\n', "text/event-stream"),
        up.raw("data: [1, 2]\n\n", "text/event-stream"),
        up.sse([up.chat_chunk("no finish reason")]),
    ],
    ids=["500", "401", "not-sse", "garbage-event", "wrong-shape", "not-an-object", "unfinished"],
)
def test_broken_upstream_answers_are_upstream_errors(run: Runner, handler: up.Handler) -> None:
    async def scenario() -> Any:
        async with up.serve({CHAT: handler}) as url:
            return await backend(url).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(UpstreamError):
        run(scenario())


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -5, "completion_tokens": 2},
        {"prompt_tokens": 3, "completion_tokens": 2**31},
        {"prompt_tokens": True},
    ],
    ids=["negative", "past-a-usage-row", "boolean"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_usage_figures_no_charge_can_hold_are_upstream_errors(run: Runner, usage: dict[str, Any], stream: bool) -> None:
    events = [up.chat_chunk("hi", finish="stop"), {"choices": [], "usage": usage}]

    async def scenario() -> Any:
        async with up.serve({CHAT: up.sse(events)}) as url:
            if not stream:
                return await backend(url).chat(messages=MESSAGES, params=PARAMS)
            return [item async for item in backend(url).chat_stream(messages=MESSAGES, params=PARAMS)]

    with pytest.raises(UpstreamError):
        run(scenario())


@pytest.mark.parametrize("code", [429, 503])
def test_overloaded_upstream_passes_retry_after(run: Runner, code: int) -> None:
    async def scenario() -> Any:
        async with up.serve({CHAT: up.status(code, headers={"Retry-After": "7"})}) as url:
            return await backend(url).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(ModelOverloaded) as raised:
        run(scenario())

    assert raised.value.headers == {"Retry-After": "7", "Retry-After-Ms": "7000"}


def test_prompt_too_long_is_a_400_saying_the_prompts_size_and_the_context(run: Runner) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "request (801 tokens) exceeds the available context size (512 tokens)",
            "type": "exceed_context_size_error",
        }
    }

    async def scenario() -> Any:
        async with up.serve({CHAT: up.status(400, body)}) as url:
            return await backend(url).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(ContextLengthExceeded) as raised:
        run(scenario())

    assert raised.value.status == 400 and raised.value.param == "messages"
    assert raised.value.message == "The prompt has 801 tokens; this model's context is 512."


def test_llamacpps_own_figures_are_used(run: Runner) -> None:
    body = {
        "error": {"message": "too long", "type": "exceed_context_size_error", "n_prompt_tokens": 4000, "n_ctx": 2048}
    }

    async def scenario() -> Any:
        async with up.serve({"/v1/completions": up.status(400, body)}) as url:
            return await backend(url).complete(prompt="word " * 4000, params=PARAMS)

    with pytest.raises(ContextLengthExceeded) as raised:
        run(scenario())

    assert raised.value.message == "The prompt has 4,000 tokens; this model's context is 2,048."
    assert raised.value.param == "prompt"


def test_an_upstream_that_gives_no_prompt_size_has_the_prompt_counted(run: Runner) -> None:
    body = {
        "error": {"message": "This model's maximum context length is 2048 tokens.", "code": "context_length_exceeded"}
    }

    async def scenario() -> Any:
        routes = {CHAT: up.status(400, body), "/tokenize": up.raw('{"count": 4000}')}
        async with up.serve(routes) as url:
            return await backend(url).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(ContextLengthExceeded) as raised:
        run(scenario())

    assert raised.value.message == "The prompt has 4,000 tokens; this model's context is 2,048."


def test_a_prompt_that_fits_but_not_with_max_tokens_says_so(run: Runner) -> None:
    # vLLM counts the answer's max_tokens into the context.
    message = (
        "This model's maximum context length is 2048 tokens. However, you requested 2500 tokens "
        "(2000 in the messages, 500 in the completion). Please reduce the length of the messages or completion."
    )

    async def scenario() -> Any:
        async with up.serve({CHAT: up.status(400, {"object": "error", "message": message})}) as url:
            return await backend(url).chat(messages=MESSAGES, params=GenerationParams(max_tokens=500))

    with pytest.raises(ContextLengthExceeded) as raised:
        run(scenario())

    assert raised.value.message == (
        "The prompt has 2,000 tokens and max_tokens is 500; together they exceed this model's context of 2,048 tokens."
    )


def test_a_known_context_size_is_used_when_the_upstream_does_not_say(run: Runner) -> None:
    body = {"error": {"message": "context_length_exceeded"}}

    async def scenario() -> Any:
        routes = {CHAT: up.status(400, body), "/tokenize": up.raw('{"tokens": [1, 2, 3]}')}
        async with up.serve(routes) as url:
            return await backend(url, context_tokens=2).chat(messages=MESSAGES, params=PARAMS)

    with pytest.raises(ContextLengthExceeded) as raised:
        run(scenario())

    assert raised.value.message == "The prompt has 3 tokens; this model's context is 2."


def test_connection_closed_mid_stream_is_upstream_error(run: Runner) -> None:
    events = [up.chat_chunk("a"), up.chat_chunk("b"), up.chat_chunk(finish="stop")]
    received: list[Any] = []

    async def scenario() -> None:
        async with up.serve({CHAT: up.sse(events, drop_after=1)}) as url:
            async for event in backend(url).chat_stream(messages=MESSAGES, params=PARAMS):
                received.append(event)

    with pytest.raises(UpstreamError):
        run(scenario())

    assert received == [TextDelta("a")]


def test_closing_a_stream_early_disconnects_the_upstream(run: Runner) -> None:
    async def scenario() -> bool:
        disconnected = asyncio.Event()
        events = [up.chat_chunk(f"t{i}") for i in range(200)]
        async with up.serve({CHAT: up.sse(events, delay_s=0.02, disconnected=disconnected)}) as url:
            stream = backend(url).chat_stream(messages=MESSAGES, params=PARAMS)
            assert await anext(stream) == TextDelta("t0")
            await stream.aclose()
            await asyncio.wait_for(disconnected.wait(), 5.0)
            return disconnected.is_set()

    assert run(scenario())


def test_cancelling_the_task_disconnects_the_upstream(run: Runner) -> None:
    async def scenario() -> bool:
        disconnected = asyncio.Event()
        async with up.serve({CHAT: up.hang_until_disconnect(disconnected)}) as url:
            task = asyncio.create_task(backend(url).chat(messages=MESSAGES, params=PARAMS))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(disconnected.wait(), 5.0)
            return disconnected.is_set()

    assert run(scenario())


def test_embeddings_come_back_in_input_order(run: Runner) -> None:
    async def embeddings(request: Any) -> Any:
        data = [{"index": 1, "embedding": [0.0, 1.0]}, {"index": 0, "embedding": [1.0, 0.0]}]
        return up.web.json_response({"data": data, "usage": {"prompt_tokens": 4}})

    async def scenario() -> Any:
        async with up.serve({"/v1/embeddings": embeddings}) as url:
            return await backend(url).embed(inputs=["a", "b"])

    result = run(scenario())

    assert result.vectors == [[1.0, 0.0], [0.0, 1.0]]
    assert result.usage.prompt_tokens == 4


def test_the_api_key_stays_out_of_repr() -> None:
    assert "sk-secret" not in repr(backend("http://127.0.0.1:1"))


def test_a_whole_answer_is_asked_for_whole_on_a_kept_connection(run: Runner) -> None:
    seen: list[tuple[Any, str | None, Any]] = []

    async def handler(request: Any) -> Any:
        body = await request.json()
        seen.append((body.get("stream"), request.headers.get("Connection"), request.transport))
        return await up.sse([up.chat_chunk("Hi", finish="stop"), {"choices": [], "usage": up.USAGE}])(request)

    async def scenario() -> list[Any]:
        async with up.serve({CHAT: handler}) as url:
            api = backend(url)
            return [await api.chat(messages=MESSAGES, params=PARAMS) for _ in range(3)]

    answers = run(scenario())

    assert [a.text for a in answers] == ["Hi"] * 3 and answers[0].usage.completion_tokens == 2
    assert [stream for stream, _, _ in seen] == [None] * 3  # one JSON answer, not a stream
    assert len({id(transport) for _, _, transport in seen}) == 1  # one connection for all three


def test_llama_cpps_settings_stream_whole_answers_and_close_streams(run: Runner) -> None:
    seen: list[tuple[Any, str | None]] = []
    events = [up.chat_chunk("Hi", finish="stop"), {"choices": [], "usage": up.USAGE}]

    async def handler(request: Any) -> Any:
        seen.append(((await request.json()).get("stream"), request.headers.get("Connection")))
        return await up.sse(events)(request)

    async def scenario() -> tuple[Any, list[Any], list[Any]]:
        async with up.serve({CHAT: handler}) as url:
            llama = backend(url, always_stream=True, close_after_stream=True)
            vllm = backend(url)
            whole = await llama.chat(messages=MESSAGES, params=PARAMS)
            closed = await collect(llama.chat_stream(messages=MESSAGES, params=PARAMS))
            kept = await collect(vllm.chat_stream(messages=MESSAGES, params=PARAMS))
            return whole, closed, kept

    whole, closed, kept = run(scenario())

    assert whole.text == "Hi" and len(closed) == len(kept) == 2
    # llama.cpp: a dropped whole request would run to its end, so it is streamed; its streams close.
    assert seen == [(True, "close"), (True, "close"), (True, None)]
