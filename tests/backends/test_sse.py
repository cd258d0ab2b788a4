"""The SSE reader: data of each event, whatever else the stream carries."""

from __future__ import annotations

from collections.abc import AsyncIterator

from apps.backends.sse_reader import sse_data

from .conftest import Runner


async def lines(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def data_of(*items: bytes) -> list[str]:
    return [data async for data in sse_data(lines(*items))]


def test_events_are_split_on_blank_lines_and_comments_ignored(run: Runner) -> None:
    stream = (b": ping\n", b"event: chunk\n", b'data: {"a": 1}\r\n', b"\r\n", b"data:2\n", b"\n")

    assert run(data_of(*stream)) == ['{"a": 1}', "2"]


def test_multi_line_data_is_joined_and_a_trailing_event_kept(run: Runner) -> None:
    assert run(data_of(b"data: one\n", b"data: two\n")) == ["one\ntwo"]
