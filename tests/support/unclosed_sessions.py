"""A guard against aiohttp sessions left open: the suite fails naming them, instead of aiohttp
printing "Unclosed client session" tracebacks after pytest's summary (through a stream pytest has
closed by then).

Two ways a session is found left open: the shared session of a loop that has ended while the
session stayed open (`apps.backends.http_session.orphaned_sessions`, checked after every test), and
any other aiohttp session collected unclosed: aiohttp reports those when they are collected, and
the guard takes over that report and records the session.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import aiohttp

unclosed: list[str] = []
_orphans_seen: set[int] = set()  # orphans stay referenced (by their loop's entry), so ids stay theirs
_lock = threading.Lock()
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    original = aiohttp.ClientSession.__del__

    def __del__(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        if self.closed:
            original(self, *args, **kwargs)
            return
        with _lock:
            unclosed.append(repr(self))

    aiohttp.ClientSession.__del__ = __del__  # type: ignore[method-assign]
    _installed = True


def count() -> int:
    with _lock:
        return len(unclosed)


def left_open_since(mark: int, *, collect: bool = False) -> list[str]:
    """Sessions found left open since `mark` (a `count()`), each reported once."""
    from apps.backends.http_session import orphaned_sessions

    if collect:
        gc.collect()
    with _lock:
        for session in orphaned_sessions():
            if id(session) not in _orphans_seen:
                _orphans_seen.add(id(session))
                unclosed.append(f"{session!r} (the shared session of a loop that has ended)")
        return unclosed[mark:]
