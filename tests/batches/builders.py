"""Batch request bodies for tests."""

from __future__ import annotations

from typing import Any

CHAT = "/v1/chat/completions"
EMBED = "/v1/embeddings"
COMPLETE = "/v1/completions"


def chat_item(custom_id: str, text: str = "hello batch world", model: str = "fake-chat", **body: Any) -> dict[str, Any]:
    messages = [{"role": "user", "content": text}]
    return {"custom_id": custom_id, "endpoint": CHAT, "body": {"model": model, "messages": messages, **body}}


def completion_item(custom_id: str, prompt: str = "one two three", **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "endpoint": COMPLETE, "body": {"model": "fake-chat", "prompt": prompt, **body}}


def embed_item(custom_id: str, text: str = "embed me", model: str = "fake-embed", **body: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "endpoint": EMBED, "body": {"model": model, "input": text, **body}}


def create_batch(api: Any, token: str, requests: list[dict[str, Any]], **kw: Any) -> Any:
    return api.post("/v1/batches", token=token, json={"requests": requests}, **kw)
