"""ALLOWED_HOSTS for what Django's middleware never sees: `/v1/` (the lean handler) and WebSockets.

Django checks the Host header in `request.get_host()`, which the admin's middleware calls and the
API's pipeline does not. This ASGI guard applies the same rule (`validate_host` against
ALLOWED_HOSTS, with Django's DEBUG default) before anything else runs: an HTTP request for another
host gets 400 `invalid_request` in the envelope, a WebSocket handshake is refused. Nothing is read,
counted or stored for such a request. Behind a proxy, the proxy must pass the client's Host on.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from .envelope import failure, new_request_id
from .errors import InvalidRequest

Scope = dict[str, Any]
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]  # Django's own default when DEBUG and none are set


class AllowedHosts:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        host = request_host(scope)
        if scope["type"] not in ("http", "websocket") or host is None or host_allowed(host):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # the connect event; a close before accepting refuses the handshake (403)
            return await send({"type": "websocket.close", "code": 1008})
        return await _refuse(send)


def request_host(scope: Scope) -> str | None:
    """What Django's `get_host()` would read: the Host header, else the server's name and port.
    None for a scope with neither, which came from no network (an in-process test harness)."""
    for name, value in scope.get("headers", []):
        if name == b"host":
            return str(value.decode("latin-1"))
    server = scope.get("server")
    if not server:
        return None
    return f"{server[0]}:{server[1]}" if server[1] else str(server[0])


def host_allowed(host: str) -> bool:
    allowed = settings.ALLOWED_HOSTS or (DEBUG_HOSTS if settings.DEBUG else [])
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


async def _refuse(send: Any) -> None:
    request_id = new_request_id()
    error = InvalidRequest("The Host header names a host this server does not serve.", param="Host")
    body = json.dumps(failure(error.as_dict(), request_id=request_id)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
