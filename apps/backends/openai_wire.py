"""The OpenAI wire format, both ways: request bodies out, stream chunks and embeddings in.

Anything that does not have the documented shape is an `UpstreamError` (502): a backend that answers
garbage is broken, and the client must not see a half-parsed answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.backends.base import ChatMessage, FinishReason, GenerationParams, Usage
from apps.core.errors import UpstreamError

SHAPE_ERROR = "The model backend returned a response of an unexpected shape."
MAX_TOKEN_COUNT = 2**31 - 1  # the largest value every database stores in a usage row


@dataclass(frozen=True, slots=True)
class Chunk:
    text: str
    finish_reason: FinishReason | None
    usage: Usage | None


def generation_body(params: GenerationParams, *, model: str, extra: dict[str, Any]) -> dict[str, Any]:
    optional = {
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
    body: dict[str, Any] = {"model": model, "max_tokens": params.max_tokens, **extra}
    body.update({key: value for key, value in optional.items() if value is not None})
    if params.stop:
        body["stop"] = list(params.stop)
    if params.logit_bias:
        body["logit_bias"] = dict(params.logit_bias)
    return body


def message_dicts(messages: list[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


def json_object(raw: bytes | str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise UpstreamError("The model backend returned a response that is not JSON.") from exc
    if not isinstance(payload, dict):
        raise UpstreamError(SHAPE_ERROR)
    return payload


def parse_chunk(payload: dict[str, Any], *, chat: bool) -> Chunk:
    """A stream chunk's text (first choice), finish reason, and usage when the chunk carries one."""
    try:
        choices = payload.get("choices") or []
        usage = parse_usage(payload.get("usage"))
        if not choices:
            # The usage-only chunk that `stream_options.include_usage` adds at the end.
            return Chunk(text="", finish_reason=None, usage=usage)
        choice = choices[0]
        text = (choice.get("delta") or {}).get("content") if chat else choice["text"]
        if text is not None and not isinstance(text, str):
            raise UpstreamError(SHAPE_ERROR)
        return Chunk(text=text or "", finish_reason=_finish_reason(choice.get("finish_reason")), usage=usage)
    except (AttributeError, TypeError, KeyError) as exc:
        raise UpstreamError(SHAPE_ERROR) from exc


def parse_completion(payload: dict[str, Any], *, chat: bool) -> tuple[str, FinishReason, Usage | None]:
    """A whole (non-streamed) answer: its first choice's text, finish reason, and usage if given."""
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"] if chat else choice["text"]
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise UpstreamError(SHAPE_ERROR)
        finish = _finish_reason(choice.get("finish_reason"))
        if finish is None:
            raise UpstreamError("The model backend answered without finishing the answer.")
        return text, finish, parse_usage(payload.get("usage"))
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        raise UpstreamError(SHAPE_ERROR) from exc


def _finish_reason(value: Any) -> FinishReason | None:
    if value is None:
        return None
    # "eos", "stop_sequence", "tool_calls"... all mean the model ended on its own.
    return "length" if value == "length" else "stop"


def parse_usage(value: Any) -> Usage | None:
    if value is None:
        return None
    prompt, completion = value.get("prompt_tokens"), value.get("completion_tokens") or 0
    # What is charged must fit a usage row (a PositiveIntegerField): a negative or absurd count is
    # an upstream's error, answered as one, not a charge the database refuses at commit.
    if not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_TOKEN_COUNT for n in (prompt, completion)
    ):
        raise UpstreamError(SHAPE_ERROR)
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


def parse_embeddings(payload: dict[str, Any], *, count: int) -> tuple[list[list[float]], Usage | None]:
    try:
        items = sorted(payload["data"], key=lambda item: item["index"])
        vectors = [[float(x) for x in item["embedding"]] for item in items]
        usage = parse_usage(payload.get("usage"))
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        raise UpstreamError(SHAPE_ERROR) from exc
    if len(vectors) != count:
        raise UpstreamError(SHAPE_ERROR)
    return vectors, usage
