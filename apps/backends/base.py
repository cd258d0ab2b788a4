"""What a model backend is: a chat backend (completions and chat, whole or streamed) or an
embedding backend, or both (an OpenAI-compatible upstream may serve either kind). See
docs/architecture.md, "Backends".

Services call these methods; nothing here knows about HTTP requests. Cancellation is asyncio's:
cancelling the awaiting task (or closing a stream's async iterator) stops the generation.
Failures are raised as `apps.core.errors` upstream errors (502/503/504), never returned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished completion or chat answer."""

    text: str
    finish_reason: FinishReason
    usage: Usage


@dataclass(frozen=True, slots=True)
class TextDelta:
    """One streamed piece of generated text."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last item of every stream."""

    finish_reason: FinishReason
    usage: Usage


StreamEvent = TextDelta | StreamEnd


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: list[list[float]] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage(prompt_tokens=0))


@runtime_checkable
class ChatBackend(Protocol):
    """Serves chat models: `/v1/completions` and `/v1/chat/completions`."""

    async def complete(self, *, prompt: str, params: GenerationParams) -> Generation: ...

    def complete_stream(self, *, prompt: str, params: GenerationParams) -> AsyncIterator[StreamEvent]: ...

    async def chat(self, *, messages: list[ChatMessage], params: GenerationParams) -> Generation: ...

    def chat_stream(self, *, messages: list[ChatMessage], params: GenerationParams) -> AsyncIterator[StreamEvent]: ...

    async def count_tokens(self, *, text: str) -> int: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class EmbeddingBackend(Protocol):
    """Serves embedding models: `/v1/embeddings`."""

    async def embed(self, *, inputs: list[str]) -> Embeddings: ...

    async def count_tokens(self, *, text: str) -> int: ...

    async def aclose(self) -> None: ...


Backend = ChatBackend | EmbeddingBackend
