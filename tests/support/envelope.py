"""Assertions for the wire contract (docs/api-contract.md), shared by every HTTP test."""

from __future__ import annotations

import re
from typing import Any

import httpx

REQUEST_ID = re.compile(r"^req_[A-Za-z0-9_-]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit-Policy",
    "RateLimit",
)


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"data", "error", "meta"}, body
    assert (body["data"] is None) != (body["error"] is None), body
    assert REQUEST_ID.match(body["meta"]["request_id"]), body["meta"]
    assert TIMESTAMP.match(body["meta"]["timestamp"]), body["meta"]
    assert response.headers["X-Request-Id"] == body["meta"]["request_id"]
    return body


def assert_rate_limit_headers(response: httpx.Response, *, limit: int | None = None) -> None:
    for name in RATE_LIMIT_HEADERS:
        assert name in response.headers, f"{name} missing on {response.status_code}"
    if limit is not None:
        assert response.headers["X-RateLimit-Limit"] == str(limit)
        assert response.headers["RateLimit-Policy"] == f'"default";q={limit};w=1'
    remaining = int(response.headers["X-RateLimit-Remaining"])
    reset = int(response.headers["X-RateLimit-Reset"])
    assert 0 <= remaining <= int(response.headers["X-RateLimit-Limit"])
    assert reset >= 1
    assert response.headers["RateLimit"] == f'"default";r={remaining};t={reset}'


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body = assert_envelope(response)
    assert body["error"]["code"] == code, body["error"]
    assert set(body["error"]) == {"code", "message", "param", "details"}
    assert_rate_limit_headers(response)
    return body["error"]
