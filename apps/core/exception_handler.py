"""The one place where exceptions become error envelopes (DESIGN §3.2)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, ProgrammingError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from . import errors
from .circuit_breaker import database_breaker, retry_after_headers
from .envelope import failure

logger = logging.getLogger("apps.api")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    error = as_api_error(exc)
    request = context.get("request")
    facts = getattr(request, "facts", None)
    request_id = facts.request_id if facts is not None else ""
    if isinstance(error, errors.InternalError) and not isinstance(exc, errors.ApiError):
        # The traceback goes to the log under the request id; the client gets only the id.
        logger.exception("unhandled error request_id=%s", request_id, exc_info=exc)
    response = ErrorResponse(failure(error.as_dict(), request_id=request_id), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    response.api_error = error
    return response


class ErrorResponse(Response):
    """An error envelope, and which error of the closed set it is (for the log and metrics)."""

    api_error: errors.ApiError


def as_api_error(exc: Exception) -> errors.ApiError:
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


def database_down(exc: Exception) -> bool:
    """The database cannot be reached, as opposed to a query of ours being wrong. InterfaceError
    ("connection already closed") is no DatabaseError, but means the same."""
    if isinstance(exc, InterfaceError):
        return True
    return isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError | DataError | ProgrammingError)


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
