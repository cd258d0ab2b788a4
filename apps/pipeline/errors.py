"""Where any exception becomes one error of the closed set (apps/core/errors.py): here and nowhere
else. Every door's failures pass through `error_for` (via the exchange)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf

from apps.core import errors
from apps.core.circuit_breaker import database_breaker, retry_after_headers
from apps.core.db import database_down

logger = logging.getLogger("apps.pipeline")


def error_for(exc: BaseException) -> errors.ApiError:
    """Map any exception into the closed set."""
    if isinstance(exc, errors.ApiError):
        return exc
    if isinstance(exc, drf.ValidationError):
        return validation_error(exc.detail)
    if isinstance(exc, drf.ParseError):
        return errors.InvalidJson(_parse_message(exc))
    if isinstance(exc, drf.UnsupportedMediaType):
        return errors.UnsupportedMediaType()
    if isinstance(exc, drf.MethodNotAllowed):
        return errors.MethodNotAllowed(f"Method {exc.args[0] if exc.args else ''} is not allowed here.".strip())
    if isinstance(exc, Http404 | drf.NotFound):
        return errors.NotFound()
    if isinstance(exc, RequestDataTooBig):
        return errors.PayloadTooLarge()
    if database_down(exc):
        # A retryable condition, not our bug; retry when the circuit breaker will try again.
        logger.warning("database unavailable: %s", type(exc).__name__)
        return errors.ServiceUnavailable(headers=retry_after_headers(database_breaker.retry_after_ms()))
    return errors.InternalError()


def is_unexpected(exc: BaseException, error: errors.ApiError) -> bool:
    """An internal error nobody raised on purpose: a bug, whose traceback belongs in the log."""
    return isinstance(error, errors.InternalError) and not isinstance(exc, errors.ApiError)


def validation_error(detail: Any) -> errors.InvalidRequest:
    details = list(_flatten(detail))
    first = details[0] if details else {"param": None, "message": "The request is not valid."}
    message = f"{first['param']}: {first['message']}" if first["param"] else first["message"]
    return errors.InvalidRequest(message, param=first["param"], details=details)


def _flatten(detail: Any, path: str = "") -> Any:
    """DRF's nested error dict/list into `[{param, message, code}]` with dotted params."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, _child_path(path, key))
    elif isinstance(detail, list):
        if all(isinstance(item, drf.ErrorDetail | str) for item in detail):
            for item in detail:
                yield _detail(path, item)
        else:
            for index, item in enumerate(detail):
                if item:  # DRF lists an empty entry for each valid item
                    yield from _flatten(item, _child_path(path, index))
    else:
        yield _detail(path, detail)


def _child_path(path: str, key: object) -> str:
    if key == "non_field_errors":
        return path
    if isinstance(key, int):  # list items: DRF keys their errors by position
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _detail(path: str, item: Any) -> dict[str, Any]:
    return {"param": path or None, "message": str(item), "code": getattr(item, "code", "invalid")}


def _parse_message(exc: drf.ParseError) -> str:
    # DRF's text includes the decoder's position, which helps a client find the error.
    text = str(exc.detail)
    return text.replace("JSON parse error - ", "The request body is not valid JSON: ")
