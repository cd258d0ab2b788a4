"""uvicorn's HTTP protocol (httptools) with a bound on the time to receive a request's headers.

uvicorn bounds the idle time between requests on a kept-alive connection (`--timeout-keep-alive`),
but not the time a client takes to send its headers, nor a new connection that sends nothing: 50
connections sending one header byte a second each held a slot for as long as they liked (slowloris).
Here, from the moment a connection opens (or a request on it begins) until its headers are
complete, at most HTTP_HEADER_TIMEOUT_SECONDS (default 10) may pass; then the server answers 408
(if any of the request arrived) and closes the connection. The body and the answer are not bounded
here (the body's size is: `apps/core/body_limit.py`).

Every command that serves the app uses it: `uvicorn ... --http apps.core.uvicorn_protocol:HttpProtocol`
(`make run`, docs/deploy.md, tests/support/live_server.py, bench/servers.py). No Django here: uvicorn
loads it before the application.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS", 10))
PROTOCOL = "apps.core.uvicorn_protocol:HttpProtocol"  # the value of uvicorn's --http option

_TIMEOUT_TEXT = b"The request headers did not arrive in time."
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT)
)


class HttpProtocol(HttpToolsProtocol):
    header_timeout_s = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        self._arm_header_timer()  # the next request on a kept-alive connection: bounded again

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._request_begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._request_begun:
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()
