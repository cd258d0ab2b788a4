"""Token counts when an upstream does not report usage.

Asked of the upstream's `/tokenize` (llama.cpp reads `content`, vLLM reads `model` + `prompt`; both
are sent). An upstream without it (Ollama, TGI) gets an estimate of 4 characters per token, which
is what OpenAI documents for English; the first miss is remembered so we stop asking.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from apps.core.errors import ApiError

CHARS_PER_TOKEN = 4
PERMANENT_STATUSES = (400, 500, 502)
PostJson = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


class UpstreamTokenCounter:
    def __init__(self, *, post_json: PostJson, model: str) -> None:
        self._post_json = post_json
        self._model = model
        self._has_tokenize = True

    async def count(self, text: str) -> int:
        if self._has_tokenize:
            try:
                return await self._tokenize(text)
            except ApiError as exc:
                # An estimate beats failing a finished answer; only a missing endpoint or an unknown
                # shape (400/502) is permanent, a busy or slow upstream (503/504) is asked again later.
                self._has_tokenize = exc.status not in PERMANENT_STATUSES
        return estimate_tokens(text)

    async def _tokenize(self, text: str) -> int:
        payload = await self._post_json("/tokenize", {"model": self._model, "prompt": text, "content": text})
        count = payload.get("count")
        if isinstance(count, int):
            return count
        tokens = payload.get("tokens")
        if isinstance(tokens, list):
            return len(tokens)
        raise ApiError("unknown /tokenize answer")
