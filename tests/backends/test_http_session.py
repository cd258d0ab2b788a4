"""The shared aiohttp session is closed when the loop that created it ends, and the suite's guard
(tests/support/unclosed_sessions.py) catches any session left open."""

from __future__ import annotations

import asyncio
import gc

import aiohttp
from asgiref.sync import async_to_sync

from apps.backends.http_session import close_shared_session, orphaned_sessions, shared_session
from tests.support import unclosed_sessions


async def _session() -> aiohttp.ClientSession:
    return shared_session()


def test_the_loops_session_is_closed_when_asyncio_run_ends() -> None:
    session = asyncio.run(_session())

    assert session.closed
    assert session not in orphaned_sessions()


def test_the_loops_session_is_closed_when_async_to_sync_ends() -> None:
    # How the test client and Django call async code from sync code: a short loop each time.
    session = async_to_sync(_session)()

    assert session.closed


def test_one_loop_shares_one_session_and_closing_it_leaves_no_task_behind() -> None:
    async def scenario() -> tuple[bool, bool, int]:
        first, second = shared_session(), shared_session()
        await close_shared_session()
        await asyncio.sleep(0)  # the closer task sees its cancellation
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        return first is second, first.closed, len(others)

    assert asyncio.run(scenario()) == (True, True, 0)


def test_the_guard_reports_a_session_left_unclosed() -> None:
    mark = unclosed_sessions.count()

    async def leak() -> None:
        aiohttp.ClientSession()  # never closed

    asyncio.run(leak())
    gc.collect()
    try:
        left = unclosed_sessions.left_open_since(mark)
        assert len(left) == 1 and "ClientSession" in left[0]
    finally:
        del unclosed_sessions.unclosed[mark:]  # reported and checked here: not this test's failure
