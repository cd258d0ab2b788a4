"""The WebSocket endpoint `/v1/stream` (DESIGN §3.5): many streamed requests over one socket.

Authenticate with the handshake's `Authorization: Bearer …` header, or a first message
`{"type": "auth", "token": "…"}`. Each message `{"id", "type": "completions"|"chat.completions",
"body"}` is one request: rate limited, metered and logged like HTTP, answered by frames that are
envelopes whose `meta` carries `stream_id` (the message's id), `event` (chunk, done, error) and
`rate_limit` (frames cannot carry headers). `{"id", "type": "batch.subscribe", "batch_id"}`
follows one of the caller's batches: `progress` frames, then `done` (the SSE `/v1/batches/{id}/events`
over the socket). `{"id", "type": "cancel"}` stops one stream or subscription. A bad frame gets an
error frame; the socket stays open. See docs/streaming.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.api.request_facts import RequestFacts, count_request, log_request
from apps.batches.progress import batch_progress_events
from apps.core.db import db_call
from apps.core.envelope import failure, new_request_id, success
from apps.core.errors import ApiError, AuthenticationRequired, InternalError, InvalidJson, InvalidRequest
from apps.core.exception_handler import as_api_error
from apps.customers.authentication import bearer_token
from apps.customers.principal import Principal
from apps.ratelimits.headers import rate_limit_meta
from apps.ratelimits.limiter import RateLimitState, rate_limit_enforce

from . import services
from .serializers import ChatCompletionRequestSerializer, CompletionRequestSerializer
from .socket_auth import close_code, socket_principal
from .streaming import StreamContext, started, stream_events

logger = logging.getLogger(__name__)

PATH = "/v1/stream"
REQUEST_TYPES = {
    "completions": (CompletionRequestSerializer, services.completion_stream),
    "chat.completions": (ChatCompletionRequestSerializer, services.chat_completion_stream),
}
BATCH_SUBSCRIBE = "batch.subscribe"
MESSAGE_TYPES = ("auth", "cancel", *REQUEST_TYPES, BATCH_SUBSCRIBE)


class StreamConsumer(AsyncWebsocketConsumer):
    # No channel-layer inbox: this consumer only answers its own socket (batch progress, which
    # does go through the layer, subscribes explicitly).
    channel_layer_alias = None

    async def connect(self) -> None:
        self.principal: Principal | None = None
        self._token = ""
        self.streams: dict[str, asyncio.Task[None]] = {}
        await self.accept()
        header = self._header("authorization")
        if header:
            await self._authenticate(bearer_token(header) or "")

    async def disconnect(self, code: int) -> None:
        for task in self.streams.values():
            task.cancel()  # the generation stops; the tokens produced are charged

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or bytes_data or b"")
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            return await self._send_error(InvalidJson("The frame is not valid JSON."), stream_id=None)
        if not isinstance(message, dict):
            return await self._send_error(InvalidRequest("A frame must be a JSON object."), stream_id=None)
        await self._dispatch(message)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind, stream_id = message.get("type"), message.get("id")
        if kind == "auth":
            return await self._authenticate(str(message.get("token", "")))
        if self.principal is None:
            return await self._send_error(AuthenticationRequired(), stream_id=stream_id)
        if not isinstance(stream_id, str) or not 1 <= len(stream_id) <= 100:
            return await self._send_error(
                InvalidRequest("`id` must be a string of 1-100 characters.", param="id"), None
            )
        if kind == "cancel":
            return self._cancel(stream_id)
        if kind not in MESSAGE_TYPES:
            error = InvalidRequest(f"`type` must be one of {', '.join(MESSAGE_TYPES)}.", param="type")
            return await self._send_error(error, stream_id)
        if stream_id in self.streams:
            return await self._send_error(InvalidRequest("A stream with this id is running.", param="id"), stream_id)
        if not await self._check_token():  # revoked or expired since the last message
            return None
        if kind == BATCH_SUBSCRIBE:
            work = self._follow_batch(stream_id, message.get("batch_id"))
        else:
            work = self._run(stream_id, kind, message.get("body"))
        task = asyncio.create_task(work)
        self.streams[stream_id] = task
        task.add_done_callback(lambda _task: self.streams.pop(stream_id, None))

    async def _run(self, stream_id: str, kind: str, body: Any) -> None:
        facts = self._facts()
        state: RateLimitState | None = None
        try:
            state = await sync_to_async(count_request, thread_sensitive=False)(facts)  # cache only, no DB
            rate_limit_enforce(state)
            serializer_class, start_stream = REQUEST_TYPES[kind]
            serializer = serializer_class(data=body)
            serializer.is_valid(raise_exception=True)  # no database validators: fine on the loop
            facts.model = serializer.validated_data["model"]
            start = await db_call(start_stream, principal=self.principal, validated=serializer.validated_data)
            generation = await started(start.generation)
        except Exception as exc:
            error = as_api_error(exc)
            await self._send_error(error, stream_id, request_id=facts.request_id, state=state)
            log_request(facts, status=error.status, error=error)  # appends to a buffer: no I/O
            return
        context = StreamContext(facts=facts, charge=start.charge)
        async for event in stream_events(context, generation):
            if event is not None:  # pings are for HTTP proxies; WebSocket has its own keep-alive
                await self._send_frame(event[1], stream_id=stream_id, event=event[0], state=state)

    async def _follow_batch(self, stream_id: str, batch_id: Any) -> None:
        """One request, like `GET /v1/batches/{id}/events`: counted, then a frame per event until
        `done`, logged when it ends (499 when cancelled or the socket closed)."""
        assert self.principal is not None
        facts = self._facts()
        state: RateLimitState | None = None
        status, error = 499, None
        try:
            state = await sync_to_async(count_request, thread_sensitive=False)(facts)
            rate_limit_enforce(state)
            if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 64:
                raise InvalidRequest("`batch_id` must be the id of one of your batches.", param="batch_id")
            events = batch_progress_events(public_id=batch_id, customer_id=self.principal.customer_id)
            async with contextlib.aclosing(events):
                async for item in events:
                    envelope = success(item["data"], request_id=facts.request_id)
                    await self._send_frame(envelope, stream_id=stream_id, event=item["event"], state=state)
            status = 200
        except Exception as exc:
            error = as_api_error(exc)
            if not isinstance(exc, ApiError):
                logger.exception("batch subscription failed request_id=%s", facts.request_id)
            status = error.status
            await self._send_error(error, stream_id, request_id=facts.request_id, state=state)
        finally:
            log_request(facts, status=status, error=error, stream=True)  # appends to a buffer: no I/O

    def _cancel(self, stream_id: str) -> None:
        task = self.streams.get(stream_id)
        if task is not None:
            task.cancel()

    async def _authenticate(self, token: str) -> None:
        self._token = token
        await self._check_token()

    async def _check_token(self) -> bool:
        """Authenticate (again). A failure is answered with an error frame, logged like an HTTP
        401, and closes the socket."""
        facts = self._facts()
        facts.principal = None  # counted per client IP, like HTTP without a valid token
        try:
            self.principal = await db_call(socket_principal, token=self._token, facts=facts)
        except Exception as exc:
            self.principal = None
            error = as_api_error(exc)
            if not isinstance(exc, ApiError) and isinstance(error, InternalError):
                logger.exception("websocket authentication failed request_id=%s", facts.request_id)
            await self._send_error(error, stream_id=None, request_id=facts.request_id)
            log_request(facts, status=error.status, error=error)
            await self.close(code=close_code(error.status))
            return False
        return True

    def _facts(self) -> RequestFacts:
        client = self.scope.get("client") or ("unknown", 0)
        return RequestFacts(
            request_id=new_request_id(),
            method="WS",
            path=PATH,
            client_ip=client[0],
            user_agent=self._header("user-agent"),
            principal=self.principal,
        )

    def _header(self, name: str) -> str:
        for key, value in self.scope.get("headers", []):
            if key.decode("latin-1").lower() == name:
                return value.decode("latin-1")
        return ""

    async def _send_error(
        self,
        error: ApiError,
        stream_id: str | None,
        *,
        request_id: str | None = None,
        state: RateLimitState | None = None,
    ) -> None:
        envelope = failure(error.as_dict(), request_id=request_id or new_request_id())
        await self._send_frame(envelope, stream_id=stream_id, event="error", state=state)

    async def _send_frame(
        self, envelope: dict[str, Any], *, stream_id: str | None, event: str, state: RateLimitState | None
    ) -> None:
        envelope["meta"].update(stream_id=stream_id, event=event)
        if state is not None:
            envelope["meta"]["rate_limit"] = rate_limit_meta(state)
        await self.send(text_data=json.dumps(envelope, separators=(",", ":"), default=str))
