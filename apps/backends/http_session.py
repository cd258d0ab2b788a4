"""One pooled aiohttp session per event loop, shared by every upstream backend in the process.

A shared aiohttp session measured as the cheapest outbound client (docs/architecture.md, "Why this
stack"); a session is bound to the loop it was created on, so sessions are keyed by loop (tests run
many short loops, a uvicorn worker runs one).

A session is closed when its loop ends: with it starts a task that only waits, and that the loop's
runner (`asyncio.run`, which uvicorn and asgiref's `async_to_sync` use) cancels on the way out, while
the loop still runs. Left open, the session would be collected after its loop closed, and aiohttp
would report it as unclosed, too late for anyone to act.
"""

from __future__ import annotations

import asyncio
import weakref

import aiohttp

# Generous: one slow stream per connection, and every upstream is a handful of hosts.
POOL_LIMIT = 256
KEEPALIVE_S = 30.0

# A loop's session, and the task that closes it (held here: a loop keeps only weak references to tasks).
type _Entry = tuple[aiohttp.ClientSession, asyncio.Task[None]]
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = weakref.WeakKeyDictionary()


def shared_session() -> aiohttp.ClientSession:
    """The running loop's session, created on first use."""
    loop = asyncio.get_running_loop()
    entry = _sessions.get(loop)
    if entry is not None:
        if not entry[0].closed:
            return entry[0]
        entry[1].cancel()  # closed by someone else: its closer has nothing left to do
    session = _new_session()
    _sessions[loop] = (session, loop.create_task(_close_when_the_loop_ends(session), name="http-session-closer"))
    return session


async def _close_when_the_loop_ends(session: aiohttp.ClientSession) -> None:
    try:
        await asyncio.get_running_loop().create_future()  # never resolved: only cancellation ends it
    finally:
        if not session.closed:
            await session.close()


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=POOL_LIMIT, keepalive_timeout=KEEPALIVE_S)
    # trust_env=False: an HTTP(S)_PROXY meant for the outside world must not capture loopback engines.
    # No session-wide timeout: each backend passes its own per request.
    return aiohttp.ClientSession(connector=connector, trust_env=False, timeout=aiohttp.ClientTimeout())


async def close_shared_session() -> None:
    """Close the running loop's session (ASGI lifespan shutdown, end of a test's loop)."""
    entry = _sessions.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        session, closer = entry
        closer.cancel()
        if not session.closed:
            await session.close()


def orphaned_sessions() -> list[aiohttp.ClientSession]:
    """Sessions still open although their loop has closed: a leak (the test suite checks there is none)."""
    return [session for loop, (session, _) in list(_sessions.items()) if loop.is_closed() and not session.closed]
