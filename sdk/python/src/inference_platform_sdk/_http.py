"""Builds a request from a method's spec and drives its attempts: one Idempotency-Key per call,
reused by every retry; failures become typed errors; the wait between attempts comes from
_retry.py. A sync and an async twin of the same few lines: everything they decide is shared."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import httpx

from ._errors import APIConnectionError, APIConnectionTimeoutError, APIError, error_from_response
from ._retry import retry_delay
from ._version import __version__

USER_AGENT = f"inference-platform-sdk-python/{__version__}"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str
    token: str
    #: Seconds until a response must arrive; for a stream, the longest silence between events.
    timeout: float
    max_retries: int
    default_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-call options; every method takes them as keyword arguments."""

    #: Sent as `Idempotency-Key` on a POST; default: a random UUID per call, reused by its retries.
    idempotency_key: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    extra_headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RequestSpec:
    method: Literal["GET", "POST"]
    path: str
    query: Mapping[str, Any] | None = None
    #: The JSON body; None sends none.
    body: Any = None
    #: Answered with Server-Sent Events: a 2xx response is handed back unread.
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Delivered:
    response: httpx.Response
    #: The parsed JSON of a non-stream response; None for a stream (its body is still unread).
    body: Any
    idempotency_key: str | None
    attempts: int


def sleep(seconds: float) -> None:  # module-level, so that tests can record the waits
    time.sleep(seconds)


async def async_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def send(http: httpx.Client, config: ClientConfig, spec: RequestSpec, options: RequestOptions) -> Delivered:
    key, request = _prepare(http, config, spec, options)
    retries = 0
    while True:
        try:
            response, body = _attempt(http, request, stream=spec.stream)
            return Delivered(response, body, key, retries + 1)
        except APIError as error:
            delay = _delay(error, config, spec, options, retries)
            if delay is None:
                raise
        sleep(delay)
        retries += 1


async def async_send(
    http: httpx.AsyncClient, config: ClientConfig, spec: RequestSpec, options: RequestOptions
) -> Delivered:
    key, request = _prepare(http, config, spec, options)
    retries = 0
    while True:
        try:
            response, body = await _async_attempt(http, request, stream=spec.stream)
            return Delivered(response, body, key, retries + 1)
        except APIError as error:
            delay = _delay(error, config, spec, options, retries)
            if delay is None:
                raise
        await async_sleep(delay)
        retries += 1


def _attempt(http: httpx.Client, request: httpx.Request, *, stream: bool) -> tuple[httpx.Response, Any]:
    try:
        response = http.send(request, stream=True)
    except httpx.TransportError as exc:
        raise connection_error(exc) from exc
    if stream and response.is_success:
        return response, None
    try:
        response.read()
    except httpx.TransportError as exc:
        raise connection_error(exc) from exc
    finally:
        response.close()
    return response, _checked_body(response)


async def _async_attempt(
    http: httpx.AsyncClient, request: httpx.Request, *, stream: bool
) -> tuple[httpx.Response, Any]:
    try:
        response = await http.send(request, stream=True)
    except httpx.TransportError as exc:
        raise connection_error(exc) from exc
    if stream and response.is_success:
        return response, None
    try:
        await response.aread()
    except httpx.TransportError as exc:
        raise connection_error(exc) from exc
    finally:
        await response.aclose()
    return response, _checked_body(response)


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """The typed error of a failure below HTTP (no response, or a body cut short)."""
    if isinstance(exc, httpx.TimeoutException):
        return APIConnectionTimeoutError("Request timed out.")
    return APIConnectionError(f"Connection error: {exc or type(exc).__name__}.")


def _checked_body(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text  # a proxy's HTML error page, say: kept for the error message
    if not response.is_success:
        raise error_from_response(response.status_code, body, response.headers)
    return body


def _delay(
    error: APIError, config: ClientConfig, spec: RequestSpec, options: RequestOptions, retries: int
) -> float | None:
    # A POST stream is retried only when no response arrived (_retry.py). A GET stream (a batch's
    # progress) only reads: an HTTP error answer delivered nothing, so it is retried like any GET.
    max_retries = config.max_retries if options.max_retries is None else options.max_retries
    return retry_delay(
        error, retries_so_far=retries, max_retries=max_retries, stream=spec.stream and spec.method == "POST"
    )


def _prepare(
    http: httpx.Client | httpx.AsyncClient, config: ClientConfig, spec: RequestSpec, options: RequestOptions
) -> tuple[str | None, httpx.Request]:
    key = (options.idempotency_key or str(uuid.uuid4())) if spec.method == "POST" else None
    headers = {
        "Accept": "text/event-stream" if spec.stream else "application/json",
        "Authorization": f"Bearer {config.token}",
        "User-Agent": USER_AGENT,
    }
    content = None
    if spec.body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(spec.body, separators=(",", ":"), ensure_ascii=False).encode()
    if key is not None:
        headers["Idempotency-Key"] = key
    headers.update(config.default_headers)
    headers.update(options.extra_headers or {})
    timeout = config.timeout if options.timeout is None else options.timeout
    request = http.build_request(
        spec.method,
        config.base_url + spec.path,
        params=_query(spec.query),
        content=content,
        headers=headers,
        timeout=httpx.Timeout(timeout),
    )
    return key, request


def _query(query: Mapping[str, Any] | None) -> dict[str, str]:
    params = {}
    for name, value in (query or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, date):
            params[name] = value.isoformat()
        else:
            params[name] = str(value)
    return params
