"""The body guard (apps/core/body_limit.py) in process, against a client that never stops sending.
On the wire, with the server's drain after the 413: tests/hardening/test_bad_input_wire.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apps.core.body_limit import BodyLimit

LIMIT = 1024
CHUNK = 256


class EndlessBody:
    """The server's `receive` for a client that keeps sending: a body chunk every time it is asked."""

    def __init__(self) -> None:
        self.pulled = 0

    async def __call__(self) -> dict[str, Any]:
        self.pulled += CHUNK
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}


async def serve(headers: list[tuple[bytes, bytes]], receive: EndlessBody) -> list[dict[str, Any]]:
    """What Django's handler does: read the body, then listen for a disconnect while the view runs
    (here, a view that takes a while to answer), and cancel the listener once it has answered."""
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message)
            if not message.get("more_body"):
                break
        listener = asyncio.create_task(receive())
        await asyncio.sleep(0.05)  # the view at work: the client is still sending meanwhile
        assert not listener.done(), listener.result()
        listener.cancel()

    scope = {"type": "http", "path": "/v1/chat/completions", "headers": headers}
    await BodyLimit(app, max_bytes=LIMIT)(scope, receive, None)
    return seen


@pytest.mark.parametrize(
    "headers",
    [[(b"content-length", str(10 * 1024**3).encode())], [(b"transfer-encoding", b"chunked")]],
    ids=["declared-too-large", "chunked-past-the-limit"],
)
def test_after_cutting_the_body_it_reads_no_more_of_it_while_the_view_answers(headers):
    """Regression: Django's disconnect listener asks for the next message while the view runs, and the
    guard went on pulling the rest of the body to discard it, without any bound, for as long as the
    view took (the 413 drain test saw 120 MiB go in). The rest is the server's to drain, within its
    bounds, after the answer (apps/core/uvicorn_protocol.py)."""
    receive = EndlessBody()
    seen = asyncio.run(serve(headers, receive))

    assert seen[-1] == {"type": "http.request", "body": b"", "more_body": False}  # the body ends early
    assert receive.pulled <= LIMIT + CHUNK


def test_a_body_within_the_limit_passes_whole_and_the_listener_still_hears_a_disconnect():
    messages = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def run() -> list[dict[str, Any]]:
        heard: list[dict[str, Any]] = []

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            heard.extend([await receive(), await receive(), await receive()])

        await BodyLimit(app, max_bytes=LIMIT)({"type": "http", "headers": []}, receive, None)
        return heard

    heard = asyncio.run(run())
    assert [m.get("body") for m in heard[:2]] == [b"ab", b"cd"]
    assert heard[2] == {"type": "http.disconnect"}
