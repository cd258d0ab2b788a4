"""One exception class per status family, so callers branch with `except NotFoundError:` instead of
parsing messages. Every error carries what a bug report needs: status, code, param, request id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import httpx

from ._generated.params import ErrorCode, ErrorDetail

if TYPE_CHECKING:
    from .types import Batch

__all__ = [
    "APIConnectionError",
    "APIConnectionTimeoutError",
    "APIError",
    "APIResponseValidationError",
    "APIUserAbortError",
    "AuthenticationError",
    "BadRequestError",
    "BatchWaitTimeoutError",
    "ConflictError",
    "InferencePlatformError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
]


class InferencePlatformError(Exception):
    """The base of every error this SDK raises."""


class APIError(InferencePlatformError):
    """A request failed. `status` is None when no response arrived (see APIConnectionError)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: ErrorCode | None = None,
        param: str | None = None,
        details: list[ErrorDetail] | None = None,
        request_id: str | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: HTTP status; None when no response arrived (connection errors).
        self.status = status
        #: The server's stable snake_case code (`invalid_request`, `rate_limited`, …).
        self.code = code
        #: The request field at fault, e.g. `max_tokens` or `Idempotency-Key`.
        self.param = param
        self.details = details
        #: `req_…`: quote it when reporting a problem.
        self.request_id = request_id
        self.headers = headers


class BadRequestError(APIError):
    """400, 413, 415: the request itself is wrong; `param` names the field when there is one."""


class AuthenticationError(APIError):
    """401: no token, or not a valid one."""


class PermissionDeniedError(APIError):
    """403: the token may not do this (a model it is not allowed)."""


class NotFoundError(APIError):
    """404: no such model or batch (another customer's batch is not found either)."""


class ConflictError(APIError):
    """409 `idempotency_request_in_progress`: the same key is still running (retried automatically)."""


class UnprocessableEntityError(APIError):
    """422 `idempotency_key_reused`: the key was used before with a different request."""


class RateLimitError(APIError):
    """429 `rate_limited` (retried automatically, waiting as the headers say)."""


class InternalServerError(APIError):
    """5xx, and a stream's `error` event whose code maps to 5xx."""


class APIConnectionError(APIError):
    """No response: refused or reset connection, DNS, or a stream cut short."""


class APIConnectionTimeoutError(APIConnectionError):
    """`timeout` passed before the response (or, in a stream, the next event) arrived."""


class APIUserAbortError(APIError):
    """The caller stopped: a stream closed before its end, then asked for its `final()`."""


class APIResponseValidationError(APIError):
    """The server answered something its schema does not describe (an SDK older than the server?)."""


class BatchWaitTimeoutError(APIError):
    """`batches.wait_for` ran out of its `timeout`; the batch goes on running on the server."""

    def __init__(self, message: str, *, batch: Batch | None) -> None:
        super().__init__(message)
        #: The batch as last seen (None if no answer came at all).
        self.batch = batch


# The server's closed table (docs: the error codes in openapi/schema.yaml); a stream's `error` event
# carries no status of its own, so it is looked up here.
STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_json": 400,
    "idempotency_key_invalid": 400,
    "authentication_required": 401,
    "invalid_token": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_request_in_progress": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422,
    "rate_limited": 429,
    "internal_error": 500,
    "upstream_error": 502,
    "model_overloaded": 503,
    "service_unavailable": 503,
    "upstream_timeout": 504,
}

_CLASS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    413: BadRequestError,
    415: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class(status: int) -> type[APIError]:
    if status >= 500:
        return InternalServerError
    return _CLASS_BY_STATUS.get(status, APIError)


def error_from_response(status: int, body: Any, headers: httpx.Headers) -> APIError:
    """The typed error of an HTTP error response; `body` is its parsed JSON, or its text."""
    request_id = headers.get("x-request-id")
    cls = error_class(status)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        text = body[:200] if isinstance(body, str) else "no error envelope"
        return cls(f"{status}: {text}", status=status, request_id=request_id, headers=headers)
    meta = body.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("request_id"), str):
        request_id = meta["request_id"]
    code = cast(ErrorCode, error["code"])
    return cls(
        f"{status} {code}: {error.get('message', '')}",
        status=status,
        code=code,
        param=error.get("param"),
        details=error.get("details"),
        request_id=request_id,
        headers=headers,
    )


def error_from_stream_event(envelope: Any, headers: httpx.Headers) -> APIError:
    """The typed error of a stream's `error` event: the 200 is long gone, so the status is the
    one its code has in the contract's table."""
    code = envelope.get("error", {}).get("code") if isinstance(envelope, dict) else None
    return error_from_response(STATUS_BY_CODE.get(code, 500) if isinstance(code, str) else 500, envelope, headers)
