"""Stop reading a `/v1/` request body once it is over API_MAX_BODY_BYTES.

Django's ASGI handler reads the whole body before the view runs. This guard sits in front of it:
a declared Content-Length over the limit is not read at all, and a chunked body stops being read
at the limit; nothing more of it is read while the view runs. The request then reaches the
pipeline with an empty body and a flag, and the pipeline answers 413 in the envelope, with the
rate-limit headers, after counting the request. The body left unread is drained, within bounds, by
the server's protocol (`apps/core/uvicorn_protocol.py`), so a client still sending it reads the 413
instead of a connection reset.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.http import HttpRequest

SCOPE_FLAG = "inference_platform.body_too_large"

Scope = dict[str, Any]


class BodyLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _declared_length(scope) > self.max_bytes:
            scope[SCOPE_FLAG] = True
        return await self.app(scope, _LimitedReceive(scope, receive, self.max_bytes), send)


class _LimitedReceive:
    """Passes body chunks through until the limit; then ends the body early and reads no more of it.

    Django's handler asks for the next message while the view runs, to hear a disconnect. Past a cut
    that request waits, unanswered, until the handler cancels it once it has answered: pulling
    messages to find a disconnect would read, and discard, whatever the client goes on sending for
    as long as the view takes, without any bound. The unread rest is the server's to drain, within
    its bounds, after the answer (`apps/core/uvicorn_protocol.py`); a client that leaves meanwhile
    only costs a 413 nobody reads."""

    def __init__(self, scope: Scope, receive: Any, max_bytes: int) -> None:
        self.scope, self.receive, self.max_bytes = scope, receive, max_bytes
        self.seen = 0
        self.body_ended = False

    async def __call__(self) -> dict[str, Any]:
        if self.body_ended:
            if self.scope.get(SCOPE_FLAG):
                await asyncio.Event().wait()  # until cancelled: see the class's docstring
            return await self.receive()  # after a whole body: the disconnect
        if self.scope.get(SCOPE_FLAG):
            return self._end_body()
        message = await self.receive()
        if message["type"] != "http.request":
            return message
        self.seen += len(message.get("body", b""))
        if self.seen > self.max_bytes:
            self.scope[SCOPE_FLAG] = True
            return self._end_body()
        self.body_ended = not message.get("more_body", False)
        return message

    def _end_body(self) -> dict[str, Any]:
        self.body_ended = True
        return {"type": "http.request", "body": b"", "more_body": False}


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def body_too_large(request: HttpRequest) -> bool:
    scope = getattr(request, "scope", None) or {}
    return bool(scope.get(SCOPE_FLAG))
