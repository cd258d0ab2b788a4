"""What each inference endpoint is asked to do, typed: built from a request serializer's validated
data, whichever door the request came through (HTTP, WebSocket, a batch item)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.backends.base import ChatMessage, GenerationParams


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    model: str
    prompt: str
    params: GenerationParams
    stream: bool = False

    @classmethod
    def from_validated(cls, validated: dict[str, Any]) -> CompletionRequest:
        return cls(
            validated["model"], validated["prompt"], generation_params(validated), validated.get("stream", False)
        )


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: list[ChatMessage]
    params: GenerationParams
    stream: bool = False

    @classmethod
    def from_validated(cls, validated: dict[str, Any]) -> ChatRequest:
        messages = [ChatMessage(role=m["role"], content=m["content"]) for m in validated["messages"]]
        return cls(validated["model"], messages, generation_params(validated), validated.get("stream", False))


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    model: str
    inputs: list[str]
    stream: bool = False  # embeddings never stream; here so every request answers `.stream`

    @classmethod
    def from_validated(cls, validated: dict[str, Any]) -> EmbeddingRequest:
        return cls(validated["model"], list(validated["input"]))


InferenceRequest = CompletionRequest | ChatRequest | EmbeddingRequest


def generation_params(validated: dict[str, Any]) -> GenerationParams:
    return GenerationParams(
        max_tokens=validated["max_tokens"],
        temperature=validated.get("temperature"),
        top_p=validated.get("top_p"),
        stop=tuple(validated.get("stop", ())),
        seed=validated.get("seed"),
    )
