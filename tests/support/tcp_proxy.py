"""A loopback TCP proxy that a test can break, to put a component (PostgreSQL, Redis, an upstream)
through an outage without touching the real, shared service.

    with TcpProxy(target_port=5432) as proxy:     # listens on 127.0.0.1:proxy.port
        ...point the server under test at proxy.port...
        proxy.cut()        # down: open connections are reset, new ones are refused (reset at once)
        proxy.hang()       # partition: connections stay open but no byte gets through
        proxy.restore()    # back up: new connections are forwarded again

It runs its own event loop in a daemon thread; every method is safe to call from the test's thread
and returns once the change is in effect. It listens on 127.0.0.1 unless given `listen_host` (the
multi-node harness listens on the host side of its own network namespaces' bridge) and forwards to
the target host given (127.0.0.1 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, Literal, Self

Mode = Literal["up", "cut", "hang"]
CHUNK = 65536
CALL_TIMEOUT_S = 10.0


class TcpProxy:
    def __init__(self, *, target_port: int, target_host: str = "127.0.0.1", listen_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.port = 0
        self.mode: Mode = "up"
        self.connections = 0  # accepted so far, for tests that want to see traffic
        self.held = 0  # reads held back by a hang: roughly, requests sent into the partition
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()

    def __enter__(self) -> Self:
        self._thread.start()
        self._call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=CALL_TIMEOUT_S)
        self._loop.close()

    def cut(self) -> None:
        self._call(self._set_mode("cut"))

    def hang(self) -> None:
        self._call(self._set_mode("hang"))

    def restore(self) -> None:
        self._call(self._set_mode("up"))

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=CALL_TIMEOUT_S)

    async def _start(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, self.listen_host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._reset_all()
        self._flowing.set()  # wakes the paused pumps, which then find their sockets closed
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:  # connections still being served: end them here, not at loop teardown
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "up":
            self._flowing.set()
            return
        self._flowing.clear()
        if mode == "cut":
            self._reset_all()

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "cut":
            _reset(client)
            return
        self._open.add(client)
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self.target)
        except OSError:
            self._open.discard(client)
            _reset(client)
            return
        self._open.add(upstream)
        pumps = [
            asyncio.ensure_future(self._pump(client_reader, upstream)),
            asyncio.ensure_future(self._pump(upstream_reader, client)),
        ]
        # Cancelled only when the proxy stops; ending quietly keeps asyncio's stream callback from
        # logging each open connection's cancellation as an error.
        with contextlib.suppress(asyncio.CancelledError):
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            if any(not pump.cancelled() and pump.exception() is not None for pump in done):
                # One side was reset (a killed process): reset the other too, as a direct connection
                # would be. Waiting for it instead would keep, say, a dead client's PostgreSQL session
                # open, holding its locks.
                _reset(client)
                _reset(upstream)
            await asyncio.gather(*pumps, return_exceptions=True)
        for pump in pumps:
            pump.cancel()
        for writer in (client, upstream):
            self._open.discard(writer)
            writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(CHUNK):
            if not self._flowing.is_set():
                self.held += 1
            await self._flowing.wait()  # a hang holds the bytes here; a cut resets the socket
            if writer.is_closing():
                return
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    def _reset_all(self) -> None:
        for writer in list(self._open):
            _reset(writer)
        self._open.clear()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed server or a dropped link does, instead of a
    polite FIN that a client could mistake for the end of a response."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def main(argv: list[str] | None = None) -> None:
    """A relay in its own process (the multi-node harness: its relays must not share the load
    generator's GIL). Prints its port, then `mode <m>` after each change: SIGUSR1 hangs, SIGHUP cuts,
    SIGUSR2 restores; SIGTERM ends it, and so does its parent's end (a harness killed with -9)."""
    import argparse
    import os
    import signal
    import sys
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--target-host", default="127.0.0.1")
    parser.add_argument("--target-port", type=int, required=True)
    args = parser.parse_args(argv)
    with TcpProxy(target_port=args.target_port, target_host=args.target_host, listen_host=args.listen_host) as proxy:
        changes = {signal.SIGUSR1: proxy.hang, signal.SIGHUP: proxy.cut, signal.SIGUSR2: proxy.restore}

        def change(signum: int, _frame: object) -> None:
            changes[signal.Signals(signum)]()
            print(f"mode {proxy.mode}", flush=True)

        for signum in changes:
            signal.signal(signum, change)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(proxy.port, flush=True)
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(0.5)  # signal handlers run in between


if __name__ == "__main__":
    main()
