"""A minimal Server-Sent Events decoder: `event:` and `data:` fields, a blank line ends an event,
lines starting with `:` are comments (the server's `: ping` keep-alives). It is fed lines (httpx's
`iter_lines` splits them and strips the line ends), so the sync and async streams share it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str


@dataclass(slots=True)
class SSEDecoder:
    _event: str = "message"
    _data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> ServerSentEvent | None:
        """The event that `line` completes, if any."""
        if line == "":
            event = ServerSentEvent(self._event, "\n".join(self._data)) if self._data else None
            self._event, self._data = "message", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None  # `id:`, `retry:` and unknown fields: this API sends none it relies on
