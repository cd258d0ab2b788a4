"""uvicorn's HTTP protocol (httptools) with a bound on the time to receive a request's headers, and
a bounded drain of a body the server answered without reading (a 413).

uvicorn bounds the idle time between requests on a kept-alive connection (`--timeout-keep-alive`),
but not the time a client takes to send its headers, nor a new connection that sends nothing: 50
connections sending one header byte a second each held a slot for as long as they liked (slowloris).
Here, from the moment a connection opens (or a request on it begins) until its headers are
complete, at most HTTP_HEADER_TIMEOUT_SECONDS (default 10) may pass; then the server answers 408
(if any of the request arrived) and closes the connection. The body and the answer are not bounded
here (the body's size is: `apps/core/body_limit.py`).

When the server has answered before the request's body was read (413 for an oversized body), closing
at once would make the kernel answer the client's unread bytes with a reset, and a client that writes
its whole body before reading (most simple ones) would see the reset, never the 413. So, as production
proxies do (nginx's lingering close): the answer is sent, our side shut down (FIN), and what the
client still sends is read and discarded, up to HTTP_DRAIN_MAX_BYTES (64 MiB) or
HTTP_DRAIN_SECONDS (10), whichever comes first; then the connection is closed. Such a connection is
never reused. uvicorn alone read the rest without any bound on a kept-alive connection.

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
DRAIN_MAX_BYTES = int(os.environ.get("HTTP_DRAIN_MAX_BYTES", 64 * 1024 * 1024))
DRAIN_S = float(os.environ.get("HTTP_DRAIN_SECONDS", 10))
PROTOCOL = "apps.core.uvicorn_protocol:HttpProtocol"  # the value of uvicorn's --http option

_TIMEOUT_TEXT = b"The request headers did not arrive in time."
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT)
)


TIMEOUT_LINGER_S = 2.0  # after a 408: short, so a slow client cannot hold its connection by it


class HttpProtocol(HttpToolsProtocol):
    header_timeout_s = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False
        self._draining = False
        self._drained = 0

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
        if self.cycle is not None and self.cycle.transport is self.transport:
            # uvicorn's request cycle closes the transport itself once it answered; that close drains.
            self.cycle.transport = _DrainingClose(self.transport, self._close_after_draining)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        if self._body_unread():
            self.server_state.total_requests += 1
            self._close_after_draining()  # not reused: the rest of the body is not parsed as a request
            return
        super().on_response_complete()

    def data_received(self, data: bytes) -> None:
        if not self._draining:
            return super().data_received(data)
        self._drained += len(data)  # discarded
        if self._drained > DRAIN_MAX_BYTES:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _body_unread(self) -> bool:
        return self.cycle is not None and self.cycle.response_complete and self.cycle.more_body

    def _close_after_draining(self) -> None:
        if self._draining or self.transport.is_closing():
            return
        if not self._body_unread() or not self.transport.can_write_eof():
            self.transport.close()
            return
        self._draining = True
        self.transport.write_eof()  # the answer, then FIN: the client can read it once it stops sending
        self.flow.resume_reading()
        self.loop.call_later(DRAIN_S, self.transport.close)

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
            if self.transport.can_write_eof():
                # Half-close and linger briefly, discarding: a client still trickling bytes would
                # otherwise get an RST for them, which makes its kernel drop the unread 408.
                self._draining = True
                self.transport.write_eof()
                self.flow.resume_reading()
                self.loop.call_later(TIMEOUT_LINGER_S, self.transport.close)
                return
        self.transport.close()


class _DrainingClose:
    """The transport as uvicorn's request cycle sees it: `close()` drains first."""

    def __init__(self, transport: asyncio.Transport, close: Any) -> None:
        self._transport, self.close = transport, close

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
