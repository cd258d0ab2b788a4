"""One pooled aiohttp session per event loop, shared by every upstream backend in the process.

A shared aiohttp session measured as the cheapest outbound client (docs/architecture.md, "Why this
stack"); a session is bound to the loop it was created on, so sessions are keyed by loop (tests run
many short loops, a uvicorn worker runs one).
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp

# Generous: one slow stream per connection, and every upstream is a handful of hosts.
POOL_LIMIT = 256
KEEPALIVE_S = 30.0

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = weakref.WeakKeyDictionary()


def shared_session() -> aiohttp.ClientSession:
    """The running loop's session, created on first use."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = _new_session()
        _sessions[loop] = session
    return session


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=POOL_LIMIT, keepalive_timeout=KEEPALIVE_S)
    # trust_env=False: an HTTP(S)_PROXY meant for the outside world must not capture loopback engines.
    # No session-wide timeout: each backend passes its own per request.
    return aiohttp.ClientSession(connector=connector, trust_env=False, timeout=aiohttp.ClientTimeout())


async def close_shared_session() -> None:
    """Close the running loop's session (ASGI lifespan shutdown, end of a test's loop)."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()
