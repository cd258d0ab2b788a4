"""The lean API handler (apps/core/api_handler.py): no request signals, so every view it serves must
be async, and what a response holds is still closed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from channels.testing import HttpCommunicator
from django.core import signals
from django.core.handlers.asgi import ASGIHandler
from django.http import StreamingHttpResponse
from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.api_handler import ApiASGIHandler, release
from inference_platform.asgi import API_PREFIXES


def routes(resolver: URLResolver, prefix: str = "/") -> Iterator[tuple[str, Any]]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def test_every_view_the_api_handler_serves_is_async():
    """A sync view would run in a request thread, and without `request_finished` nothing would
    give that thread's database connection back to the pool."""
    served = [(route, view) for route, view in routes(get_resolver()) if route.startswith(API_PREFIXES)]
    assert len(served) > 10
    sync = [route for route, view in served if not iscoroutinefunction(view)]
    assert sync == []


@pytest.fixture
def signals_sent() -> Iterator[list[str]]:
    sent: list[str] = []

    def started(**kwargs: Any) -> None:
        sent.append("request_started")

    def finished(**kwargs: Any) -> None:
        sent.append("request_finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield sent
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def answer(handler: ASGIHandler) -> dict[str, Any]:
    # No token: the pipeline answers 401 without the database.
    return asyncio.run(HttpCommunicator(handler, "GET", "/v1/models").get_response())


def test_the_api_handler_answers_without_the_request_signals(signals_sent):
    assert answer(ApiASGIHandler())["status"] == 401
    assert signals_sent == []


class WithDjangoHandle(ApiASGIHandler):
    handle = ASGIHandler.handle  # type: ignore[assignment]


def test_django_handle_sends_them_for_the_same_request(signals_sent):
    assert answer(WithDjangoHandle())["status"] == 401
    assert signals_sent == ["request_started", "request_finished"]


def test_release_closes_what_a_response_holds():
    def body() -> Iterator[bytes]:
        yield b"data"

    content = body()
    response = StreamingHttpResponse(content)
    release(response)
    assert response.closed
    assert content.gi_frame is None  # the generator was closed
