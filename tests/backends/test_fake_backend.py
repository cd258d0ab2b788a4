"""The deterministic fake backend used by pipeline tests and benchmarks."""

from __future__ import annotations

import math
from typing import Any

import pytest

from apps.backends.base import ChatMessage, GenerationParams, StreamEnd, TextDelta
from apps.backends.fake import FakeBackend, FakeConfig
from apps.core.errors import UpstreamTimeout

from .conftest import Runner


async def events(backend: FakeBackend, prompt: str, max_tokens: int) -> list[Any]:
    return [event async for event in backend.complete_stream(prompt=prompt, params=GenerationParams(max_tokens))]


def test_generation_echoes_the_prompt_deterministically(run: Runner) -> None:
    backend = FakeBackend(FakeConfig(reply_tokens=5))

    generation = run(backend.chat(messages=[ChatMessage("user", "a b")], params=GenerationParams(max_tokens=3)))

    assert (generation.text, generation.finish_reason) == ("a b a", "length")
    assert (generation.usage.prompt_tokens, generation.usage.completion_tokens) == (2, 3)


def test_stream_fails_after_n_tokens_with_the_configured_error(run: Runner) -> None:
    backend = FakeBackend(FakeConfig(fail_after_tokens=2, fail_code="upstream_timeout"))
    received: list[Any] = []

    async def scenario() -> None:
        async for event in backend.complete_stream(prompt="x y z", params=GenerationParams(max_tokens=10)):
            received.append(event)

    with pytest.raises(UpstreamTimeout):
        run(scenario())

    assert received == [TextDelta("x"), TextDelta(" y")]


def test_a_stream_ends_with_stream_end(run: Runner) -> None:
    result = run(events(FakeBackend(FakeConfig(reply_tokens=2)), "hi", max_tokens=10))

    assert result[-1] == StreamEnd(finish_reason="stop", usage=result[-1].usage)
    assert result[-1].usage.completion_tokens == 2


def test_embeddings_are_deterministic_unit_vectors(run: Runner) -> None:
    backend = FakeBackend(FakeConfig(dimensions=16))

    first = run(backend.embed(inputs=["a", "b"]))
    again = run(backend.embed(inputs=["a"]))

    assert first.vectors[0] == again.vectors[0] != first.vectors[1]
    assert math.isclose(sum(x * x for x in first.vectors[1]), 1.0)
