"""The lean ASGI handler for `/v1/`: Django's handler with no Django middleware at all.

The admin keeps Django's normal stack. The API pipeline (request id, auth, limits, envelope, log)
lives in `apps.pipeline` instead, because each Django middleware on an async server adds thread
hand-offs to every request (the lean stack measured 2-2.7x faster: docs/architecture.md, "Why this
stack").
"""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response


class ApiASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # Django's own handler methods; the stubs do not declare them.
        get_response = self._get_response_async if is_async else self._get_response  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(get_response)


class PrefixRouter:
    """Send HTTP requests under `prefix` to `api`, everything else to `default`."""

    def __init__(self, *, prefix: str, api: Any, default: Any) -> None:
        self.prefix, self.api, self.default = prefix, api, default

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.api if scope.get("path", "").startswith(self.prefix) else self.default
        await app(scope, receive, send)
