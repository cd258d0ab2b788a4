"""Server-sent events, read side: the `data` payload of each event from a byte-line stream.

Only what OpenAI-compatible servers send is handled: `data:` lines (joined when an event has
several), blank-line event ends, comments and other fields ignored (WHATWG HTML §9.2.6).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


async def sse_data(lines: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """Yield each event's data; a final event without its blank line is still delivered."""
    data: list[str] = []
    async for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield "\n".join(data)
