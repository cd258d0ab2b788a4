"""OpenAICompatibleBackend against a real, separately started llama.cpp server process."""

from __future__ import annotations

from typing import Any

import pytest

from apps.backends.base import ChatMessage, GenerationParams, StreamEnd, TextDelta
from apps.backends.engine_files import EngineState
from apps.backends.openai_compatible import OpenAICompatibleBackend

from .conftest import Runner

pytestmark = [pytest.mark.models, pytest.mark.live]


@pytest.fixture
def upstream(second_engine: EngineState) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(
        base_url=second_engine.base_url + "/v1", upstream_model=second_engine.model, api_key=second_engine.api_key
    )


def test_chat_against_llamacpp(run: Runner, upstream: OpenAICompatibleBackend) -> None:
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "Name a colour.")]

    generation = run(upstream.chat(messages=messages, params=GenerationParams(max_tokens=5, temperature=0.0)))

    assert generation.text.strip() and generation.usage.completion_tokens <= 5


def test_completion_stream_against_llamacpp_reports_usage(run: Runner, upstream: OpenAICompatibleBackend) -> None:
    async def scenario() -> list[Any]:
        # Greedy: a sampled continuation may end (EOS) before its 5 tokens, and the answer says "stop".
        params = GenerationParams(max_tokens=5, temperature=0.0)
        stream = upstream.complete_stream(prompt="One, two, three,", params=params)
        return [event async for event in stream]

    events = run(scenario())
    end = events[-1]

    assert isinstance(end, StreamEnd) and end.finish_reason == "length"
    assert end.usage.completion_tokens == 5 and end.usage.prompt_tokens > 0
    assert "".join(event.text for event in events if isinstance(event, TextDelta))


def test_count_tokens_against_llamacpp(run: Runner, upstream: OpenAICompatibleBackend) -> None:
    assert run(upstream.count_tokens(text="Hello world")) == 2


def test_streams_in_a_row_share_the_pool_without_failing(run: Runner, upstream: OpenAICompatibleBackend) -> None:
    # llama.cpp's server closes the connection after each streamed response without saying so; a
    # pooled keep-alive socket would make every second call fail on the dead connection.
    async def scenario() -> list[str]:
        messages, greedy = [ChatMessage("user", "Hi")], GenerationParams(max_tokens=2, temperature=0.0)
        return [(await upstream.chat(messages=messages, params=greedy)).finish_reason for _ in range(4)]

    assert run(scenario()) == ["length"] * 4
