"""Text generation: POST /v1/completions and POST /v1/chat/completions, whole or streamed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from typing_extensions import Unpack

from .._http import RequestSpec
from .._streaming import COMPLETION_EVENTS, AsyncStream, Stream
from ..types import ChatCompletion, ChatCompletionParams, Completion, CompletionParams, StreamChunk, StreamDone
from ._base import AsyncAPIResource, SyncAPIResource, generation_body, request_options

#: A streamed completion: iterate for the chunks, `final()` for the finish reason and usage.
CompletionStream: TypeAlias = Stream[StreamChunk, StreamDone]
AsyncCompletionStream: TypeAlias = AsyncStream[StreamChunk, StreamDone]

COMPLETIONS = "/v1/completions"
CHAT_COMPLETIONS = "/v1/chat/completions"


class Inference(SyncAPIResource):
    def complete(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[CompletionParams],
    ) -> Completion:
        """POST /v1/completions: text that continues `prompt`."""
        body = generation_body(params, stream=False, method="complete")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return self._client._call(RequestSpec("POST", COMPLETIONS, body=body), Completion, options)

    def complete_stream(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[CompletionParams],
    ) -> CompletionStream:
        """POST /v1/completions with `"stream": true`, once the server answered its 200."""
        body = generation_body(params, stream=True, method="complete_stream")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        spec = RequestSpec("POST", COMPLETIONS, body=body, stream=True)
        return self._client._stream(spec, StreamChunk, StreamDone, COMPLETION_EVENTS, options)

    def chat(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ChatCompletionParams],
    ) -> ChatCompletion:
        """POST /v1/chat/completions: the assistant's next message."""
        body = generation_body(params, stream=False, method="chat")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return self._client._call(RequestSpec("POST", CHAT_COMPLETIONS, body=body), ChatCompletion, options)

    def chat_stream(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ChatCompletionParams],
    ) -> CompletionStream:
        """POST /v1/chat/completions with `"stream": true`, once the server answered its 200."""
        body = generation_body(params, stream=True, method="chat_stream")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        spec = RequestSpec("POST", CHAT_COMPLETIONS, body=body, stream=True)
        return self._client._stream(spec, StreamChunk, StreamDone, COMPLETION_EVENTS, options)


class AsyncInference(AsyncAPIResource):
    async def complete(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[CompletionParams],
    ) -> Completion:
        """POST /v1/completions: text that continues `prompt`."""
        body = generation_body(params, stream=False, method="complete")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return await self._client._call(RequestSpec("POST", COMPLETIONS, body=body), Completion, options)

    async def complete_stream(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[CompletionParams],
    ) -> AsyncCompletionStream:
        """POST /v1/completions with `"stream": true`, once the server answered its 200."""
        body = generation_body(params, stream=True, method="complete_stream")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        spec = RequestSpec("POST", COMPLETIONS, body=body, stream=True)
        return await self._client._stream(spec, StreamChunk, StreamDone, COMPLETION_EVENTS, options)

    async def chat(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ChatCompletionParams],
    ) -> ChatCompletion:
        """POST /v1/chat/completions: the assistant's next message."""
        body = generation_body(params, stream=False, method="chat")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        return await self._client._call(RequestSpec("POST", CHAT_COMPLETIONS, body=body), ChatCompletion, options)

    async def chat_stream(
        self,
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Unpack[ChatCompletionParams],
    ) -> AsyncCompletionStream:
        """POST /v1/chat/completions with `"stream": true`, once the server answered its 200."""
        body = generation_body(params, stream=True, method="chat_stream")
        options = request_options(
            idempotency_key=idempotency_key, timeout=timeout, max_retries=max_retries, extra_headers=extra_headers
        )
        spec = RequestSpec("POST", CHAT_COMPLETIONS, body=body, stream=True)
        return await self._client._stream(spec, StreamChunk, StreamDone, COMPLETION_EVENTS, options)
