"""An instant OpenAI-compatible upstream for the proxy scenario: a bare ASGI app (no framework), so
that what the scenario measures is the proxy, not the upstream.

`uvicorn bench.fake_upstream:app` answers `POST /v1/chat/completions` and `POST /v1/completions`
with a fixed reply of REPLY_TOKENS tokens: plain JSON, or with `"stream": true` Server-Sent Events
(one chunk per token, a finish chunk, a usage chunk when `stream_options.include_usage` asks for
one, then `data: [DONE]`), the shapes vLLM and llama.cpp's server send. Anything else is a 404.
"""

from __future__ import annotations

import json
from typing import Any

REPLY = ["Hello", " from", " the", " fake", " upstream", ",", " instantly", "."]
REPLY_TOKENS = len(REPLY)
PROMPT_TOKENS = 9
USAGE = {
    "prompt_tokens": PROMPT_TOKENS,
    "completion_tokens": REPLY_TOKENS,
    "total_tokens": PROMPT_TOKENS + REPLY_TOKENS,
}
ROUTES = {b"/v1/chat/completions": True, b"/v1/completions": False}  # path -> chat?
JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def answer(body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
    text = "".join(REPLY)
    choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    choice |= {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
    kind = "chat.completion" if chat else "text_completion"
    return {"id": "fake-1", "object": kind, "model": body.get("model", ""), "choices": [choice], "usage": USAGE}


def events(body: dict[str, Any], *, chat: bool) -> list[bytes]:
    """The whole stream, pre-encoded: one `data:` event per chunk."""
    kind, model = ("chat.completion.chunk" if chat else "text_completion"), body.get("model", "")

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload = {"id": "fake-1", "object": kind, "model": model, "choices": choices, **extra}
        return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"

    def delta(text: str | None, finish: str | None) -> dict[str, Any]:
        content = (
            ({"delta": {"content": text}} if text is not None else {"delta": {}}) if chat else {"text": text or ""}
        )
        return {"index": 0, **content, "finish_reason": finish}

    out = [chunk([delta(piece, None)]) for piece in REPLY]
    out.append(chunk([delta(None, "stop")]))
    if (body.get("stream_options") or {}).get("include_usage"):
        out.append(chunk([], usage=USAGE))
    out.append(b"data: [DONE]\n\n")
    return out


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body", False):
            break
    chat = ROUTES.get(scope["path"].encode())
    if scope["method"] != "POST" or chat is None:
        await send({"type": "http.response.start", "status": 404, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": b'{"error":{"message":"not found"}}'})
        return
    body = json.loads(raw or b"{}")
    if not body.get("stream"):
        await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": json.dumps(answer(body, chat=chat)).encode()})
        return
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    for event in events(body, chat=chat):
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return
