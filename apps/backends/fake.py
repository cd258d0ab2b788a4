"""A deterministic, fast `Backend` for pipeline tests and benchmarks; never a default model.

It echoes the prompt's words (cycled) as tokens, with an optional delay per token, and can fail
after N tokens with any error code of the closed set, to exercise mid-stream errors. Embeddings
are unit vectors seeded by each text's SHA-256, so equal texts always get equal vectors.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import random
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from apps.backends.base import (
    ChatMessage,
    Embeddings,
    FinishReason,
    Generation,
    GenerationParams,
    StreamEnd,
    StreamEvent,
    TextDelta,
    Usage,
)
from apps.backends.generations import collect_generation
from apps.core.errors import ERRORS_BY_CODE


@dataclass(frozen=True, slots=True)
class FakeConfig:
    token_delay_s: float = 0.0
    reply_tokens: int = 16  # the "natural" answer length: fewer than max_tokens ends with "stop"
    fail_after_tokens: int | None = None
    fail_code: str = "upstream_error"
    dimensions: int = 384


class FakeBackend:
    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()

    async def complete(self, *, prompt: str, params: GenerationParams) -> Generation:
        return await collect_generation(self.complete_stream(prompt=prompt, params=params))

    def complete_stream(self, *, prompt: str, params: GenerationParams) -> AsyncGenerator[StreamEvent]:
        return self._generate(prompt, params)

    async def chat(self, *, messages: list[ChatMessage], params: GenerationParams) -> Generation:
        return await collect_generation(self.chat_stream(messages=messages, params=params))

    def chat_stream(self, *, messages: list[ChatMessage], params: GenerationParams) -> AsyncGenerator[StreamEvent]:
        return self._generate(" ".join(message.content for message in messages), params)

    async def embed(self, *, inputs: list[str]) -> Embeddings:
        vectors = [_unit_vector(text, self.config.dimensions) for text in inputs]
        return Embeddings(vectors=vectors, usage=Usage(prompt_tokens=sum(map(_word_count, inputs))))

    async def count_tokens(self, *, text: str) -> int:
        return _word_count(text)

    async def aclose(self) -> None:
        return None

    async def _generate(self, prompt: str, params: GenerationParams) -> AsyncGenerator[StreamEvent]:
        config = self.config
        count = min(params.max_tokens, config.reply_tokens)
        words = itertools.cycle(prompt.split() or ["ok"])
        for index in range(count):
            if config.fail_after_tokens is not None and index >= config.fail_after_tokens:
                raise ERRORS_BY_CODE[config.fail_code]()
            if config.token_delay_s:
                await asyncio.sleep(config.token_delay_s)  # the cancellation point, like a real engine
            yield TextDelta(("" if index == 0 else " ") + next(words))
        finish: FinishReason = "length" if count == params.max_tokens else "stop"
        yield StreamEnd(finish_reason=finish, usage=Usage(_word_count(prompt), count))


def _word_count(text: str) -> int:
    return max(1, len(text.split()))


def _unit_vector(text: str, dimensions: int) -> list[float]:
    seeded = random.Random(hashlib.sha256(text.encode()).digest())
    vector = [seeded.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
