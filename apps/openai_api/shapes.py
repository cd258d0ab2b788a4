"""OpenAI's wire format as a shape of the pipeline (apps/pipeline/shapes.py): the same exchange, the
same data, written the way OpenAI's API writes it. Bare objects (`chat.completion`,
`text_completion`, `list` of `embedding`s, `model`s), errors as `{"error": {message, type, param,
code}}`, streams as `data: {chunk}` lines ending with `data: [DONE]`, and an error after the first
chunk as a data line holding the error (what OpenAI's servers send, and what its clients raise)."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from apps.core.errors import ApiError
from apps.pipeline.shapes import PING, json_bytes

if TYPE_CHECKING:
    from apps.pipeline.exchange import Exchange

DONE = "data: [DONE]\n\n"
# The error `type` OpenAI's API uses for each status; its clients pick their exception by status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error(error: ApiError) -> dict[str, Any]:
    kind = ERROR_TYPES.get(error.status, "server_error")
    return {"error": {"message": error.message, "type": kind, "param": error.param, "code": error.code}}


def data_line(payload: dict[str, Any]) -> str:
    return f"data: {json_bytes(payload).decode()}\n\n"


class OpenAIShape:
    """Errors, and answers that need nothing from the request (the model list). Each endpoint's
    action replaces it with the shape for its kind of answer, once it has read the body."""

    content_type = "application/json"
    stream_content_type = "text/event-stream"

    def data(self, exchange: Exchange, data: Any) -> bytes:
        return json_bytes(data)

    def error(self, exchange: Exchange, error: ApiError) -> bytes:
        return json_bytes(openai_error(error))

    def event(self, exchange: Exchange, name: str, data: Any) -> str:
        raise TypeError(f"{type(self).__name__} does not stream")

    def error_event(self, exchange: Exchange, error: ApiError) -> str:
        return data_line(openai_error(error))

    def ping(self) -> str:
        return PING  # an SSE comment: OpenAI's clients skip it


class GenerationShape(OpenAIShape):
    """`chat.completion` / `text_completion`, whole or as chunks."""

    def __init__(self, *, chat: bool, include_usage: bool = False) -> None:
        self.chat = chat
        self.include_usage = include_usage
        self.created = int(time.time())
        self._sent_role = False

    def data(self, exchange: Exchange, data: Any) -> bytes:
        choices = [self._choice(choice) for choice in data["choices"]]
        return json_bytes({**self._head(data["id"], data["model"]), "choices": choices, "usage": data["usage"]})

    def event(self, exchange: Exchange, name: str, data: Any) -> str:
        head = self._head(self._stream_id(exchange), exchange.facts.model, chunk=True)
        if name == "chunk":
            return data_line({**head, "choices": [self._chunk_choice(text=data["delta"])], **self._no_usage()})
        # `done`: the finish reason, then (asked for with stream_options) the usage, then [DONE].
        finish = data["finish_reason"] if data["finish_reason"] != "cancelled" else "stop"
        lines = data_line({**head, "choices": [self._chunk_choice(text=None, finish=finish)], **self._no_usage()})
        if self.include_usage:
            lines += data_line({**head, "choices": [], "usage": data["usage"]})
        return lines + DONE

    def _head(self, result_id: str, model: str, *, chunk: bool = False) -> dict[str, Any]:
        kind = ("chat.completion.chunk" if chunk else "chat.completion") if self.chat else "text_completion"
        return {"id": result_id, "object": kind, "created": self.created, "model": model, "system_fingerprint": None}

    def _choice(self, choice: dict[str, Any]) -> dict[str, Any]:
        if self.chat:
            message = {**choice["message"], "refusal": None}
            return {"index": 0, "message": message, "logprobs": None, "finish_reason": choice["finish_reason"]}
        return {"index": 0, "text": choice["text"], "logprobs": None, "finish_reason": choice["finish_reason"]}

    def _chunk_choice(self, *, text: str | None, finish: str | None = None) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta: dict[str, Any] = {} if text is None else {"content": text}
        if not self._sent_role:  # the first chunk says who speaks, as OpenAI's do
            delta = {"role": "assistant", **delta}
            self._sent_role = True
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def _no_usage(self) -> dict[str, Any]:
        return {"usage": None} if self.include_usage else {}

    def _stream_id(self, exchange: Exchange) -> str:
        # One id for every chunk of a stream, derived from the request id (the /v1 stream has none).
        return ("chatcmpl_" if self.chat else "cmpl_") + exchange.request_id.removeprefix("req_")


class EmbeddingShape(OpenAIShape):
    """A `list` of `embedding`s; with `encoding_format: base64` each vector is little-endian
    float32 bytes in base64, as OpenAI's API sends them (and its Python client asks by default)."""

    def __init__(self, *, base64_vectors: bool) -> None:
        self.base64_vectors = base64_vectors

    def data(self, exchange: Exchange, data: Any) -> bytes:
        items = [
            {"object": "embedding", "index": item["index"], "embedding": self._vector(item["embedding"])}
            for item in data["items"]
        ]
        usage = {"prompt_tokens": data["usage"]["prompt_tokens"], "total_tokens": data["usage"]["total_tokens"]}
        return json_bytes({"object": "list", "data": items, "model": data["model"], "usage": usage})

    def _vector(self, vector: list[float]) -> list[float] | str:
        if not self.base64_vectors:
            return vector
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
