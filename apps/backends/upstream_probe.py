"""The active health check that brings an ejected replica back (`upstream_pool`).

`GET /health` is what vLLM, TGI and llama.cpp's server answer (llama.cpp says 503 while it loads its
model, so a loading replica stays out); a server without it (Ollama) answers 404, and then
`GET /v1/models` is asked. Only a 2xx counts as healthy.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from apps.backends.http_session import shared_session

PROBE_PATHS = ("/health", "/v1/models")
DEFAULT_PROBE_TIMEOUT_S = 5.0


async def probe_replica(url: str, *, headers: Mapping[str, str], timeout_s: float = DEFAULT_PROBE_TIMEOUT_S) -> bool:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    for path in PROBE_PATHS:
        try:
            async with shared_session().get(url + path, headers=headers, timeout=timeout) as response:
                if response.status < 300:
                    return True
                if response.status != 404:
                    return False
        except (aiohttp.ClientError, TimeoutError):
            return False
    return False
