"""The misbehaving OpenAI-compatible upstream of tests/backends/fake_upstream.py, served from a
background thread, so that tests can call the API synchronously while it answers (or does not)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.backends import fake_upstream

TIMEOUT_S = 10.0


@contextmanager
def upstream(routes: dict[str, fake_upstream.Handler]) -> Iterator[str]:
    """Yields the upstream's base URL (`http://127.0.0.1:PORT`)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-upstream", daemon=True)
    thread.start()
    server = fake_upstream.serve(routes)
    try:
        yield asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(TIMEOUT_S)
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT_S)
        loop.close()
