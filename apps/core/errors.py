"""The closed set of API errors (docs/api-contract.md, "Errors"), each mapped to one HTTP status here and nowhere else.

Services raise these; the one exception handler (`apps.core.exception_handler`) renders them as the
error envelope. Never return an error as a value.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """Base of every error the API can answer with."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "The server failed to handle this request."
    default_headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.details = details
        self.headers = {**self.default_headers, **(headers or {})}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "param": self.param, "details": self.details}


class InvalidRequest(ApiError):
    status, code = 400, "invalid_request"
    default_message = "The request is not valid."


class InvalidJson(ApiError):
    status, code = 400, "invalid_json"
    default_message = "The request body is not valid JSON."


class IdempotencyKeyInvalid(ApiError):
    status, code = 400, "idempotency_key_invalid"
    default_message = "Idempotency-Key must be 1-255 printable ASCII characters."


class AuthenticationRequired(ApiError):
    status, code = 401, "authentication_required"
    default_headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    default_message = "Send an API token as 'Authorization: Bearer <token>'."


class InvalidToken(ApiError):
    # One message for unknown, revoked and expired tokens: never tell a guesser which it was.
    status, code = 401, "invalid_token"
    default_headers = {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}
    default_message = "The API token is invalid, revoked or expired."


class PermissionDenied(ApiError):
    status, code = 403, "permission_denied"
    default_message = "This token is not allowed to do that."


class NotFound(ApiError):
    status, code = 404, "not_found"
    default_message = "No such resource."


class MethodNotAllowed(ApiError):
    status, code = 405, "method_not_allowed"
    default_message = "This method is not allowed on this path."


class IdempotencyRequestInProgress(ApiError):
    status, code = 409, "idempotency_request_in_progress"
    default_headers = {"Retry-After": "1", "Retry-After-Ms": "1000"}
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"
    default_message = "Send the body as 'Content-Type: application/json'."


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request."


class RateLimited(ApiError):
    status, code = 429, "rate_limited"
    default_message = "Rate limit exceeded; retry after the time in Retry-After."


class InternalError(ApiError):
    status, code = 500, "internal_error"
    default_message = "The server failed to handle this request; quote the request id when reporting it."


class UpstreamError(ApiError):
    status, code = 502, "upstream_error"
    default_message = "The model backend returned an invalid response."


class ModelOverloaded(ApiError):
    status, code = 503, "model_overloaded"
    default_headers = {"Retry-After": "1", "Retry-After-Ms": "1000"}
    default_message = "The model is at capacity; retry after the time in Retry-After."


class ServiceUnavailable(ApiError):
    status, code = 503, "service_unavailable"
    default_headers = {"Retry-After": "1", "Retry-After-Ms": "1000"}
    default_message = "The service is temporarily unavailable; retry shortly."


class UpstreamTimeout(ApiError):
    status, code = 504, "upstream_timeout"
    default_message = "The model backend did not answer in time."


ERRORS_BY_CODE: dict[str, type[ApiError]] = {cls.code: cls for cls in ApiError.__subclasses__() if cls is not ApiError}
ERRORS_BY_CODE[ApiError.code] = InternalError

# Django and DRF answer some statuses before our code runs; this maps them back into the closed set.
ERROR_FOR_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: AuthenticationRequired,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}
