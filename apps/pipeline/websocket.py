"""The WebSocket door `/v1/stream` (docs/streaming.md): many streamed requests over one socket.

Authenticate with the handshake's `Authorization: Bearer …` header, or a first message
`{"type": "auth", "token": "…"}`. Every other message `{"id", "type", …}` is one request, walked
through its own `Exchange` exactly like an HTTP request (the token checked again, counted, logged,
settled), answered by frames (shapes.Frames). Which request types exist is decided where the
application is composed (inference_platform/asgi.py): completions and chat from the endpoint
table, `batch.subscribe` from the batches app. `{"id", "type": "cancel"}` stops one request: its
last frame is `done` (with `finish_reason: "cancelled"` for a generation), and what it produced is
charged. A bad frame gets an error frame; the socket stays open. A token that fails (at the
handshake, or revoked while the socket is open) gets an error frame and the socket closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.core.envelope import new_request_id
from apps.core.errors import ApiError, AuthenticationRequired, InvalidJson, InvalidRequest

from .exchange import Admission, Exchange, Reply, Result
from .facts import RequestFacts
from .shapes import Frames

PATH = "/v1/stream"
MAX_ID_CHARS = 100
# Close codes: 4000 + the HTTP status, and 1013 ("try again later") for a 503.
CLOSE_CODES = {401: 4401, 429: 4429, 503: 1013}

SocketHandler = Callable[[Exchange, dict[str, Any]], Awaitable[Result]]


class SocketConsumer(AsyncWebsocketConsumer):
    # No channel-layer inbox: this consumer only answers its own socket (batch progress, which
    # does go through the layer, subscribes explicitly).
    channel_layer_alias = None

    def __init__(self, *args: Any, handlers: Mapping[str, SocketHandler], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handlers = dict(handlers)
        self.message_types = ("auth", "cancel", *self.handlers)

    async def connect(self) -> None:
        self.authorization: str | None = None
        self.running: dict[str, tuple[Exchange, asyncio.Task[None]]] = {}
        await self.accept()
        header = self._header("authorization")
        if header:
            await self._authenticate(header)

    async def disconnect(self, code: int) -> None:
        for _, task in self.running.values():
            task.cancel()  # the generation stops; the tokens produced are charged

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or bytes_data or b"")
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            return await self._refuse(InvalidJson("The frame is not valid JSON."), stream_id=None)
        if not isinstance(message, dict):
            return await self._refuse(InvalidRequest("A frame must be a JSON object."), stream_id=None)
        await self._dispatch(message)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind, stream_id = message.get("type"), message.get("id")
        if kind == "auth":
            return await self._authenticate(f"Bearer {message.get('token', '')}")
        if self.authorization is None:
            return await self._refuse(AuthenticationRequired(), stream_id=stream_id)
        if not isinstance(stream_id, str) or not 1 <= len(stream_id) <= MAX_ID_CHARS:
            error = InvalidRequest(f"`id` must be a string of 1-{MAX_ID_CHARS} characters.", param="id")
            return await self._refuse(error, stream_id=None)
        if kind == "cancel":
            return self._stop(stream_id)
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            error = InvalidRequest(f"`type` must be one of {', '.join(self.message_types)}.", param="type")
            return await self._refuse(error, stream_id)
        if stream_id in self.running:
            return await self._refuse(InvalidRequest("A stream with this id is running.", param="id"), stream_id)
        exchange = Exchange(self._facts(), shape=Frames(stream_id))
        task = asyncio.create_task(self._serve(exchange, lambda ex: handler(ex, message)))
        self.running[stream_id] = (exchange, task)
        task.add_done_callback(lambda _task: self.running.pop(stream_id, None))

    async def _serve(self, exchange: Exchange, work: Callable[[Exchange], Awaitable[Result]]) -> None:
        reply = await exchange.serve(Admission(authorization=self.authorization), work)
        if isinstance(reply, Reply):
            await self.send(text_data=reply.body)
            if exchange.facts.principal is None:  # the token died (or cannot be checked): hang up
                await self._hang_up(reply)
            return
        async for frame in reply.chunks:
            await self.send(text_data=frame)

    def _stop(self, stream_id: str) -> None:
        running = self.running.get(stream_id)
        if running is not None:
            running[0].stop()

    async def _authenticate(self, authorization: str) -> None:
        """The token, checked like an HTTP request's; a failure counts against the client IP
        like any request without a valid token, is logged, and closes the socket."""
        exchange = Exchange(self._facts(), shape=Frames(None))
        try:
            await exchange.admit(Admission(authorization=authorization, counted=False, count_refusals=True))
        except Exception as exc:
            self.authorization = None
            reply = await exchange.failed(exc)
            await self.send(text_data=reply.body)
            await self._hang_up(reply)
            return
        self.authorization = authorization

    async def _hang_up(self, reply: Reply) -> None:
        self.authorization = None
        await self.close(code=CLOSE_CODES.get(reply.status, CLOSE_CODES[401]))

    async def _refuse(self, error: ApiError, stream_id: str | None) -> None:
        """A frame that is no request at all (not JSON, no id, unknown type): an error frame."""
        exchange = Exchange(self._facts(), shape=Frames(stream_id))
        await self.send(text_data=exchange.shape.error(exchange, error))

    def _facts(self) -> RequestFacts:
        client = self.scope.get("client") or ("unknown", 0)
        return RequestFacts(
            request_id=new_request_id(),
            method="WS",
            path=PATH,
            client_ip=client[0],
            user_agent=self._header("user-agent"),
        )

    def _header(self, name: str) -> str:
        for key, value in self.scope.get("headers", []):
            if key.decode("latin-1").lower() == name:
                return value.decode("latin-1")
        return ""
