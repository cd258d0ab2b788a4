"""A `Backend` over any OpenAI-compatible HTTP server: vLLM, llama.cpp's server, Ollama, TGI
(docs/architecture.md, "Backends").

`base_url` is the server root (`http://gpu-1:8000`; a trailing `/v1` is dropped) because `/tokenize`
lives at the root on llama.cpp and vLLM. A whole answer is asked for whole (one JSON response on a
pooled keep-alive connection: the cheapest call a proxy can make), a streamed one as a stream. Two
settings exist for llama.cpp's server (the local engine sets both):
- `always_stream`: it keeps generating a dropped non-streamed request to its end (measured: 450
  tokens, ~5 s) but stops a dropped stream within ~0.1 s, so whole answers are streamed too and
  collected here;
- `close_after_stream`: it closes the connection after every streamed response without announcing
  it, so a pooled socket would fail the next request (measured: every second stream); such streams
  say `Connection: close`.
vLLM and TGI stop a dropped request either way and keep their connections: neither is needed there.

Streams ask for `stream_options.include_usage`; when the upstream still reports no usage, prompt
tokens come from `/tokenize` (or an estimate, see `upstream_tokens`) and completion tokens are the
number of streamed deltas (these servers send one token per chunk). Leaving a stream early, or
cancelling the awaiting task, closes the upstream connection, which is how llama.cpp and vLLM learn
to stop generating.

The upstream may be several replicas (`replicas`, or `base_url` as a pool of one): every call goes
through `upstream_failover`, which picks the replica (`upstream_pool`), reports how the call went
and retries a replica's failure once elsewhere, before the first token only.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from apps.backends import openai_wire as wire
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
from apps.backends.http_session import shared_session
from apps.backends.sse_reader import sse_data
from apps.backends.upstream_errors import (
    ContextLengthExceeded,
    UpstreamStatus,
    context_message,
    error_for_exception,
    error_for_status,
)
from apps.backends.upstream_failover import call_with_failover, stream_with_failover
from apps.backends.upstream_pool import DEFAULT_COOLDOWN_S, ReplicaSpec, UpstreamPool
from apps.backends.upstream_probe import probe_replica
from apps.backends.upstream_tokens import UpstreamTokenCounter
from apps.core.errors import ApiError, UpstreamError

TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError)


class OpenAICompatibleBackend:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        replicas: Sequence[ReplicaSpec] = (),
        upstream_model: str,
        api_key: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        extra_body: dict[str, Any] | None = None,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        context_tokens: int | None = None,
        always_stream: bool = False,
        close_after_stream: bool = False,
    ) -> None:
        specs = list(replicas) or ([ReplicaSpec(url=base_url)] if base_url else [])
        if not specs or (base_url and replicas):
            raise ValueError("give either base_url or replicas")
        self.upstream_model = upstream_model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._api_key = api_key
        # sock_read bounds the gap between two reads, so a long stream is fine while tokens keep coming.
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout_s, sock_read=read_timeout_s)
        self._extra_body = extra_body or {}
        probe = functools.partial(probe_replica, headers=self._headers, timeout_s=connect_timeout_s)
        self.pool = UpstreamPool(specs, name=upstream_model, probe=probe, cooldown_s=cooldown_s)
        self.context_tokens = context_tokens  # when known (the local engine's); else the upstream may say
        self.always_stream, self.close_after_stream = always_stream, close_after_stream
        self._tokens = UpstreamTokenCounter(post_json=self._post_side_json, model=upstream_model)

    @property
    def base_url(self) -> str:
        """The first replica's root URL (the only one, for a `base_url` config)."""
        return self.pool.replicas[0].url

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        urls = [replica.url for replica in self.pool.replicas]
        return f"OpenAICompatibleBackend(replicas={urls!r}, upstream_model={self.upstream_model!r})"

    async def complete(self, *, prompt: str, params: GenerationParams) -> Generation:
        if self.always_stream:
            return await collect_generation(self.complete_stream(prompt=prompt, params=params))
        body = {**self._body(params, stream=False), "prompt": prompt}
        return await self._whole("/v1/completions", body, chat=False, prompt_text=prompt, max_tokens=params.max_tokens)

    def complete_stream(self, *, prompt: str, params: GenerationParams) -> AsyncGenerator[StreamEvent]:
        body = {**self._body(params, stream=True), "prompt": prompt}
        return self._stream("/v1/completions", body, chat=False, prompt_text=prompt, max_tokens=params.max_tokens)

    async def chat(self, *, messages: list[ChatMessage], params: GenerationParams) -> Generation:
        if self.always_stream:
            return await collect_generation(self.chat_stream(messages=messages, params=params))
        body = {**self._body(params, stream=False), "messages": wire.message_dicts(messages)}
        return await self._whole(
            "/v1/chat/completions", body, chat=True, prompt_text=_joined(messages), max_tokens=params.max_tokens
        )

    def chat_stream(self, *, messages: list[ChatMessage], params: GenerationParams) -> AsyncGenerator[StreamEvent]:
        body = {**self._body(params, stream=True), "messages": wire.message_dicts(messages)}
        return self._stream(
            "/v1/chat/completions", body, chat=True, prompt_text=_joined(messages), max_tokens=params.max_tokens
        )

    async def embed(self, *, inputs: list[str]) -> Embeddings:
        payload = await self._post_json("/v1/embeddings", {"model": self.upstream_model, "input": inputs})
        vectors, usage = wire.parse_embeddings(payload, count=len(inputs))
        if usage is None:
            usage = Usage(prompt_tokens=sum([await self._tokens.count(text) for text in inputs]))
        return Embeddings(vectors=vectors, usage=usage)

    async def count_tokens(self, *, text: str) -> int:
        return await self._tokens.count(text)

    async def unreachable(self, *, timeout_s: float) -> str | None:
        """What keeps the upstream from serving, from a cheap GET of its model list (readiness
        checks, docs/deploy.md); None when it answers. Every server this backend speaks to lists its
        models at `/v1/models`; a 401 or 403 means our key is wrong, which no request would survive."""
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with shared_session().get(
                self.base_url + "/v1/models", headers=self._headers, timeout=timeout
            ) as response:
                status = response.status
        except TimeoutError:
            return f"no answer from {self.base_url} within {timeout_s:g} s"
        except aiohttp.ClientError as exc:
            return f"{self.base_url} is not reachable ({type(exc).__name__})"
        if status >= 500 or status in (401, 403):
            return f"{self.base_url} answered HTTP {status}"
        return None

    async def aclose(self) -> None:
        # The pooled session is shared by every backend on the loop: `close_shared_session` owns it.
        return None

    def _body(self, params: GenerationParams, *, stream: bool) -> dict[str, Any]:
        body = wire.generation_body(params, model=self.upstream_model, extra=self._extra_body)
        if not stream:
            return body
        return {**body, "stream": True, "stream_options": {"include_usage": True}}

    async def _whole(
        self, path: str, body: dict[str, Any], *, chat: bool, prompt_text: str, max_tokens: int
    ) -> Generation:
        try:
            payload = await self._post_json(path, body)
        except ContextLengthExceeded as exc:
            raise await self._too_long(exc, prompt_text, max_tokens, "messages" if chat else "prompt") from exc
        text, finish_reason, usage = wire.parse_completion(payload, chat=chat)
        if usage is None:
            usage = Usage(await self._tokens.count(prompt_text), await self._tokens.count(text) if text else 0)
        return Generation(text=text, finish_reason=finish_reason, usage=usage)

    async def _post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await call_with_failover(self.pool, functools.partial(self._post_json_to, path=path, body=body))

    async def _post_side_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # /tokenize: some servers lack it (the counter then estimates), so it says nothing about health.
        send = functools.partial(self._post_json_to, path=path, body=body)
        return await call_with_failover(self.pool, send, judged=False)

    async def _post_json_to(self, base_url: str, *, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._open(base_url + path, body) as response:
            try:
                raw = await response.read()
            except TRANSPORT_ERRORS as exc:
                raise error_for_exception(exc) from exc
        return wire.json_object(raw)

    async def _stream(
        self, path: str, body: dict[str, Any], *, chat: bool, prompt_text: str, max_tokens: int
    ) -> AsyncGenerator[StreamEvent]:
        tally = _StreamTally()
        open_stream = functools.partial(self._deltas_from, path=path, body=body, chat=chat, tally=tally)
        try:
            async with contextlib.aclosing(stream_with_failover(self.pool, open_stream)) as deltas:
                async for delta in deltas:
                    yield delta
        except ContextLengthExceeded as exc:  # the upstream's answer to the request: before any delta
            raise await self._too_long(exc, prompt_text, max_tokens, "messages" if chat else "prompt") from exc
        assert tally.finish_reason is not None  # _deltas_from raised otherwise
        usage = tally.usage or Usage(await self._tokens.count(prompt_text), tally.deltas)
        yield StreamEnd(finish_reason=tally.finish_reason, usage=usage)

    async def _deltas_from(
        self, base_url: str, *, path: str, body: dict[str, Any], chat: bool, tally: _StreamTally
    ) -> AsyncGenerator[TextDelta]:
        """One attempt at the stream on one replica (a retry starts a fresh tally)."""
        tally.reset()
        async with (
            self._open(base_url + path, body, keep_alive=not self.close_after_stream) as response,
            contextlib.aclosing(_deltas(response, chat=chat, tally=tally)) as deltas,
        ):
            async for delta in deltas:
                yield delta
        if tally.finish_reason is None:
            raise UpstreamError("The model backend ended the stream without finishing the answer.")

    async def _too_long(
        self, exc: ContextLengthExceeded, prompt_text: str, max_tokens: int, param: str
    ) -> ContextLengthExceeded:
        """The prompt's size and the context's, from the upstream's answer or counted here."""
        prompt_tokens = exc.prompt_tokens  # exact when the upstream says (the chat template included)
        if prompt_tokens is None:
            try:
                prompt_tokens = await self.count_tokens(text=prompt_text)
            except ApiError:
                prompt_tokens = None
        context_tokens = self.context_tokens or exc.context_tokens
        message = context_message(
            prompt_tokens=prompt_tokens, context_tokens=context_tokens, max_tokens=max_tokens, fallback=exc.message
        )
        return ContextLengthExceeded(message, param=param, prompt_tokens=prompt_tokens, context_tokens=context_tokens)

    @contextlib.asynccontextmanager
    async def _open(
        self, url: str, body: dict[str, Any], *, keep_alive: bool = True
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        response = await self._send(url, body, keep_alive=keep_alive)
        try:
            if response.status >= 400:
                answer = _redacted(await _body_or_empty(response), self._api_key)
                raise error_for_status(response.status, answer, response.headers) from UpstreamStatus(response.status)
            yield response
        except BaseException:
            # close(), not release(): an unfinished response must drop the socket so the upstream
            # notices the client left (cancellation, aclose, error) and frees its slot.
            response.close()
            raise
        else:
            response.release()

    async def _send(self, url: str, body: dict[str, Any], *, keep_alive: bool) -> aiohttp.ClientResponse:
        headers = self._headers if keep_alive else {**self._headers, "Connection": "close"}
        try:
            return await shared_session().post(url, json=body, headers=headers, timeout=self._timeout)
        except TRANSPORT_ERRORS as exc:
            raise error_for_exception(exc, before_response=True) from exc


@dataclass(slots=True)
class _StreamTally:
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    deltas: int = 0

    def reset(self) -> None:
        self.finish_reason, self.usage, self.deltas = None, None, 0


async def _deltas(response: aiohttp.ClientResponse, *, chat: bool, tally: _StreamTally) -> AsyncGenerator[TextDelta]:
    try:
        async for data in sse_data(response.content):
            if data.strip() == "[DONE]":
                return
            chunk = wire.parse_chunk(wire.json_object(data), chat=chat)
            tally.finish_reason = chunk.finish_reason or tally.finish_reason
            tally.usage = chunk.usage or tally.usage
            if chunk.text:
                tally.deltas += 1
                yield TextDelta(chunk.text)
    except TRANSPORT_ERRORS as exc:
        raise error_for_exception(exc) from exc


async def _body_or_empty(response: aiohttp.ClientResponse) -> bytes:
    try:
        return await response.read()
    except TRANSPORT_ERRORS:
        return b""


def _redacted(body: bytes, api_key: str | None) -> bytes:
    # An upstream that quotes our request in its error would put our key in our log, or, for a
    # 400, in the message the client gets.
    return body.replace(api_key.encode(), b"[redacted]") if api_key else body


def _joined(messages: list[ChatMessage]) -> str:
    # Only used to count prompt tokens when the upstream reports none; the chat template's own tokens
    # are not included, so this undercounts by a few tokens per message.
    return "\n".join(message.content for message in messages)
