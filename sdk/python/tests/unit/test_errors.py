"""Each status becomes its error class, with the envelope's code, param, details and request id."""

from __future__ import annotations

from typing import get_args

import httpx
import pytest

from inference_platform_sdk import (
    APIError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from inference_platform_sdk._errors import STATUS_BY_CODE, error_from_response
from inference_platform_sdk.types import ErrorCode

from .scripted import REQUEST_ID, Script, failure


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_request", BadRequestError),
        (413, "payload_too_large", BadRequestError),
        (415, "unsupported_media_type", BadRequestError),
        (401, "invalid_token", AuthenticationError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (405, "method_not_allowed", APIError),
        (409, "idempotency_request_in_progress", ConflictError),
        (422, "idempotency_key_reused", UnprocessableEntityError),
        (429, "rate_limited", RateLimitError),
        (500, "internal_error", InternalServerError),
        (502, "upstream_error", InternalServerError),
        (503, "model_overloaded", InternalServerError),
        (504, "upstream_timeout", InternalServerError),
    ],
)
def test_each_status_raises_its_class_with_the_envelopes_fields(status, code, cls):
    script = Script(failure(status, code, "Bad max_tokens.", param="max_tokens"))

    with pytest.raises(cls) as caught:
        script.client(max_retries=0).inference.complete(model="m", prompt="p")

    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.param, error.request_id) == (status, code, "max_tokens", REQUEST_ID)
    assert str(error) == f"{status} {code}: Bad max_tokens."
    assert error.headers is not None and error.headers["x-ratelimit-limit"] == "50"


def test_details_name_every_bad_field():
    details = [{"param": "requests[1].body.model", "message": "No model.", "code": "invalid"}]
    body = {"data": None, "error": {"code": "invalid_request", "message": "x", "param": None, "details": details}}

    error = error_from_response(400, body, httpx.Headers())

    assert error.details == details


def test_an_answer_that_is_no_envelope_keeps_its_text():
    error = error_from_response(502, "<html>Bad gateway</html>", httpx.Headers({"x-request-id": "req_x"}))

    assert isinstance(error, InternalServerError)
    assert (error.status, error.code, error.request_id) == (502, None, "req_x")
    assert "Bad gateway" in str(error)


def test_every_error_code_of_the_schema_has_a_status():
    assert set(STATUS_BY_CODE) == set(get_args(ErrorCode.__value__))


def test_data_the_schema_does_not_describe_is_a_validation_error():
    script = Script(httpx.Response(200, json={"data": {"id": 1}, "error": None, "meta": {}}))

    with pytest.raises(APIResponseValidationError, match="schema"):
        script.client().models.get("m")
