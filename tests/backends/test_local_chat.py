"""The local chat model through the shared llama.cpp engine (real model, few tokens)."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import aiohttp
import pytest

from apps.backends.base import ChatMessage, GenerationParams, StreamEnd, TextDelta
from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from apps.backends.local_chat import ChatDefaults, LocalChatBackend
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.core.errors import InvalidRequest, ModelOverloaded

from .conftest import Runner

pytestmark = [pytest.mark.models, pytest.mark.live]

HELLO = [ChatMessage(role="user", content="Say hello.")]
LONG = GenerationParams(max_tokens=500)


@pytest.fixture
def endless_chat(chat_engine: EngineSupervisor) -> LocalChatBackend:
    """Generates to max_tokens (no end-of-sequence), so "stopped early" can be told apart."""
    return LocalChatBackend(supervisor=chat_engine, defaults=ChatDefaults(extra_body={"ignore_eos": True}))


async def busy_slots(supervisor: EngineSupervisor) -> int:
    state = supervisor.ensure()
    headers = {"Authorization": f"Bearer {state.api_key}"}
    async with aiohttp.ClientSession() as session, session.get(state.base_url + "/slots", headers=headers) as response:
        return sum(1 for slot in await response.json() if slot["is_processing"])


async def wait_until_idle(supervisor: EngineSupervisor, limit_s: float = 4.0) -> bool:
    # llama.cpp stops decoding at once but may free the slot up to ~2 s later; left alone, 500
    # tokens take 6 s or more.
    for _ in range(int(limit_s / 0.05)):
        if await busy_slots(supervisor) == 0:
            return True
        await asyncio.sleep(0.05)
    return False


def test_chat_returns_text_and_usage(run: Runner, local_chat: LocalChatBackend) -> None:
    generation = run(local_chat.chat(messages=HELLO, params=GenerationParams(max_tokens=8, seed=1)))

    assert generation.text.strip()
    assert generation.usage.prompt_tokens > 10  # the default system prompt is in there
    assert 0 < generation.usage.completion_tokens <= 8


def test_completion_continues_a_prompt(run: Runner, local_chat: LocalChatBackend) -> None:
    params = GenerationParams(max_tokens=4, temperature=0.0)

    generation = run(local_chat.complete(prompt="The capital of France is", params=params))

    assert generation.text.strip() and generation.finish_reason == "length"
    assert (generation.usage.prompt_tokens, generation.usage.completion_tokens) == (5, 4)


def test_stream_yields_deltas_then_stream_end(run: Runner, local_chat: LocalChatBackend) -> None:
    async def scenario() -> list[Any]:
        return [event async for event in local_chat.chat_stream(messages=HELLO, params=GenerationParams(6))]

    events = run(scenario())

    assert all(isinstance(event, TextDelta) for event in events[:-1]) and len(events) > 1
    assert isinstance(events[-1], StreamEnd) and events[-1].usage.completion_tokens <= 6


def test_closing_a_stream_stops_generation(
    run: Runner, endless_chat: LocalChatBackend, chat_engine: EngineSupervisor
) -> None:
    async def scenario() -> bool:
        stream = endless_chat.chat_stream(messages=HELLO, params=LONG)
        await anext(stream)
        assert await busy_slots(chat_engine) == 1
        await stream.aclose()
        return await wait_until_idle(chat_engine)

    assert run(scenario())


def test_cancelling_a_chat_stops_generation(
    run: Runner, endless_chat: LocalChatBackend, chat_engine: EngineSupervisor
) -> None:
    async def scenario() -> bool:
        task = asyncio.create_task(endless_chat.chat(messages=HELLO, params=LONG))
        await asyncio.sleep(0.3)
        assert await busy_slots(chat_engine) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await wait_until_idle(chat_engine)

    assert run(scenario())


def test_with_every_engine_slot_busy_a_request_is_refused_after_the_admission_bound(
    run: Runner, endless_chat: LocalChatBackend, chat_engine: EngineSupervisor
) -> None:
    """Regression: it queued inside the engine until its read timeout (60 s), then got 504."""
    impatient = LocalChatBackend(
        supervisor=chat_engine, defaults=ChatDefaults(admission_timeout_s=0.5, extra_body={"ignore_eos": True})
    )

    async def scenario() -> tuple[ModelOverloaded, float, str]:
        slots = chat_engine.ensure().slots
        holding = [endless_chat.chat_stream(messages=HELLO, params=LONG) for _ in range(slots)]
        for stream in holding:
            await anext(stream)  # generating: every slot of the engine is busy
        started = asyncio.get_running_loop().time()
        with pytest.raises(ModelOverloaded) as refused:
            await impatient.chat(messages=HELLO, params=GenerationParams(max_tokens=2))
        waited = asyncio.get_running_loop().time() - started
        await holding[0].aclose()  # a slot frees: the next request is served
        served = await impatient.complete(prompt="Hello", params=GenerationParams(max_tokens=2))
        for stream in holding[1:]:
            await stream.aclose()
        return refused.value, waited, served.finish_reason

    error, waited, finish_reason = run(scenario())

    assert error.code == "model_overloaded" and error.status == 503
    assert error.headers == {"Retry-After": "1", "Retry-After-Ms": "1000"}
    assert 0.5 <= waited < 0.5 + 5.0  # the bound, not the engine's 60 s read timeout
    assert finish_reason == "length"
    assert run(wait_until_idle(chat_engine))


def test_the_admission_bound_is_a_setting(settings) -> None:
    from apps.backends.registry import backend_for

    settings.ENGINE_ADMISSION_TIMEOUT_SECONDS = 1.25
    backend = backend_for(backend="local_chat", config={"idle_exit_s": 0})

    assert isinstance(backend, LocalChatBackend) and backend.defaults.admission_timeout_s == 1.25


def test_prompt_longer_than_the_context_is_a_400_naming_both_sizes(run: Runner, local_chat: LocalChatBackend) -> None:
    too_long = [ChatMessage("user", "hello " * 600)]

    with pytest.raises(InvalidRequest, match=r"^The prompt has \d+ tokens; this model's context is 512\.$") as raised:
        run(local_chat.chat(messages=too_long, params=GenerationParams(max_tokens=4)))

    assert raised.value.param == "messages"
    # The engine's own count, the chat template included: more than the text alone.
    prompt_tokens = int(raised.value.message.split()[3])
    assert prompt_tokens > run(local_chat.count_tokens(text="hello " * 600))


def test_a_completion_prompt_longer_than_the_context_names_the_prompt(
    run: Runner, local_chat: LocalChatBackend
) -> None:
    with pytest.raises(InvalidRequest, match=r"^The prompt has 601 tokens; this model's context is 512\.$") as raised:
        run(local_chat.complete(prompt="hello " * 600, params=GenerationParams(max_tokens=4)))

    assert raised.value.param == "prompt"


def test_count_tokens_uses_the_engine_tokenizer(run: Runner, local_chat: LocalChatBackend) -> None:
    assert run(local_chat.count_tokens(text="Hello world")) == 2


def test_a_second_worker_shares_the_running_engine(chat_engine: EngineSupervisor) -> None:
    other_worker = EngineSupervisor(EngineSpec(runtime_dir=chat_engine.paths.root))

    assert other_worker.ensure() == chat_engine.ensure()
    other_worker.release()


def test_a_dead_engine_is_restarted_on_the_next_request(
    run: Runner, local_chat: LocalChatBackend, chat_engine: EngineSupervisor
) -> None:
    old = chat_engine.ensure()
    run(local_chat.count_tokens(text="warm up"))  # the backend now holds the old address
    os.kill(old.pid, signal.SIGKILL)

    generation = run(local_chat.complete(prompt="Hello", params=GenerationParams(max_tokens=2)))

    assert generation.text is not None and chat_engine.ensure().pid != old.pid


def test_the_engine_refuses_requests_without_its_key(run: Runner, chat_engine: EngineSupervisor) -> None:
    state = chat_engine.ensure()
    keyless = OpenAICompatibleBackend(base_url=state.base_url, upstream_model=state.model)

    with pytest.raises(Exception) as raised:
        run(keyless.complete(prompt="Hi", params=GenerationParams(max_tokens=2)))

    assert getattr(raised.value, "status", None) == 502  # 401 upstream: our configuration is wrong
