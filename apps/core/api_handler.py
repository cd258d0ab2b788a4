"""The lean ASGI handler for `/v1/`: Django's handler with no Django middleware at all.

The admin keeps Django's normal stack. The API pipeline (request id, auth, limits, envelope, log)
lives in `apps.pipeline` instead, because each Django middleware on an async server adds thread
hand-offs to every request (the lean stack measured 2-2.7x faster: docs/architecture.md, "Why this
stack").
"""

from __future__ import annotations

import asyncio
from contextlib import closing, suppress
from typing import Any

from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpResponseBase
from django.urls import set_script_prefix


class ApiASGIHandler(ASGIHandler):
    """Django's ASGI handler with no middleware, and without the request signals.

    Django sends `request_started` and `request_finished` around every request, and its receivers
    are synchronous (`reset_queries`, `close_old_connections`, `close_caches`, `reset_urlconf`), so
    each send is a hop into a thread made for that one request: 80% of the CPU of a request that
    does nothing else (docs/benchmarks.md, "Request signals"). For the API they have nothing to do. Its views are
    async (`tests/core/test_api_handler.py` holds every route to it), so no request thread ever
    holds a database connection: database work goes through `apps.core.db.db_call`, which gives
    its connection back itself. The caches' per-request close is a no-op for the backends we use,
    and the urlconf is set again as each request starts.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # Django's own handler methods; the stubs do not declare them.
        get_response = self._get_response_async if is_async else self._get_response  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(get_response)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """`ASGIHandler.handle` (Django 6.1) without the two signals."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return

        with closing(body_file):
            set_script_prefix(get_script_prefix(scope))
            request, error_response = self.create_request(scope, body_file)
            if request is None:  # undecodable, or a body past DATA_UPLOAD_MAX_MEMORY_SIZE
                assert error_response is not None
                await self.send_response(error_response, send)
                release(error_response)
                return

            class RequestProcessed(Exception):
                pass

            response = None
            try:
                try:
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self.listen_for_disconnect(receive))
                        response = await self.run_get_response(request)
                        await self.send_response(response, send)
                        raise RequestProcessed
                except* (RequestProcessed, RequestAborted):
                    pass
            except BaseExceptionGroup as exception_group:
                if len(exception_group.exceptions) == 1:
                    raise exception_group.exceptions[0] from None  # as Django: the one error, unwrapped
                raise

            if response is not None:
                release(response)


def release(response: HttpResponseBase) -> None:
    """`HttpResponseBase.close()` less its `request_finished` signal: close what the response holds
    (a file, an iterator's `close`)."""
    for closer in response._resource_closers:  # type: ignore[attr-defined]
        with suppress(Exception):  # as Django's close(): the answer is sent, there is no one to tell
            closer()
    response._resource_closers.clear()  # type: ignore[attr-defined]
    response.closed = True


class PrefixRouter:
    """Send HTTP requests under one of `prefixes` to `api`, everything else to `default`."""

    def __init__(self, *, prefixes: tuple[str, ...], api: Any, default: Any) -> None:
        self.prefixes, self.api, self.default = prefixes, api, default

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.api if scope.get("path", "").startswith(self.prefixes) else self.default
        await app(scope, receive, send)
