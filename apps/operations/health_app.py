"""`/health/live` and `/health/ready` (docs/deploy.md, "Health checks"): a bare ASGI app.

The ASGI router sends `/health/` here before Django (inference_platform/asgi.py): no Django
middleware, no request object, no request signals, and outside the request pipeline, so no token,
no rate limit, no request-log row and no envelope. A balancer polling every second costs the
checks (`health.py`) and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

from .health import readiness

JSON_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]


class HealthApp:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if path not in ("/health/live", "/health/ready"):
            await _answer(send, 404, {"status": "not_found", "paths": ["/health/live", "/health/ready"]}, method)
        elif method not in ("GET", "HEAD"):
            await _answer(send, 405, {"status": "method_not_allowed"}, method, [(b"allow", b"GET, HEAD")])
        elif path == "/health/live":
            # The process answers: nothing else is asked, so a slow database never gets it restarted.
            await _answer(send, 200, {"status": "alive"}, method)
        else:
            result = await readiness()
            await _answer(send, 200 if result.ready else 503, result.document(), method)


async def _answer(
    send: Any, status: int, document: dict[str, Any], method: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(document).encode()
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
