"""Turns the envelope's `data` into the generated models (validated by pydantic), and attaches the
response's metadata to the result."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from ._errors import APIError, APIResponseValidationError
from ._models import APIModel
from ._response import ResponseMeta

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(cast_to: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cast_to)
    if adapter is None:
        adapter = _ADAPTERS[cast_to] = TypeAdapter(cast_to)
    return adapter


def parse(cast_to: type[T], data: Any, response: httpx.Response, meta: ResponseMeta | None = None) -> T:
    """`data` as a `cast_to`; with `meta`, reachable as its `.response_meta`."""
    try:
        value: T = _adapter(cast_to).validate_python(data)
    except ValidationError as exc:
        raise APIResponseValidationError(
            f"The response does not match the API's schema (is the SDK older than the server?): {exc}",
            status=response.status_code,
            request_id=response.headers.get("x-request-id"),
            headers=response.headers,
        ) from exc
    if meta is not None and isinstance(value, APIModel):
        value._response_meta = meta
    return value


def envelope_data(body: Any, response: httpx.Response) -> tuple[Any, Any]:
    """The `data` and `meta` of a success envelope."""
    if not isinstance(body, dict) or "data" not in body:
        raise APIError(
            f"{response.status_code}: the response is not an envelope.",
            status=response.status_code,
            request_id=response.headers.get("x-request-id"),
            headers=response.headers,
        )
    return body["data"], body.get("meta")
