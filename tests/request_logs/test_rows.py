"""One request-log row per /v1/ request (docs/operations.md): the right facts, never a secret or a body."""

from __future__ import annotations

import pytest

from apps.request_logs.models import RequestLog
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_successful_request_is_logged_with_its_facts(api, token, written_rows):
    response = api.get("/v1/models", token=token, headers={"User-Agent": "sdk/1.0"})

    [row] = written_rows()
    assert response.status_code == 200
    assert row.request_id == response.headers["X-Request-Id"]
    assert (row.method, row.path, row.status, row.status_class, row.error_code) == ("GET", "/v1/models", 200, 2, "")
    assert row.customer.name == "acme"
    assert row.token_prefix == "_".join(token.split("_")[:2])  # ipk_<prefix>, never the secret part
    assert row.latency_ms > 0
    assert (row.client_ip, row.user_agent, row.count) == ("127.0.0.1", "sdk/1.0", 1)


def test_an_unknown_path_is_logged_as_404_with_its_error_code(api, token, written_rows):
    response = api.get("/v1/nothing-here", token=token)

    [row] = written_rows()
    assert (row.status, row.error_code, row.path) == (404, "not_found", "/v1/nothing-here")
    assert row.request_id == response.headers["X-Request-Id"]
    assert row.customer is not None


def test_a_customer_over_its_limit_gets_a_429_row_of_its_own(api, clock, written_rows):
    issued = make_token(customer="bursty", rate=1)
    statuses = [api.get("/v1/models", token=issued.secret).status_code for _ in range(3)]

    rows = written_rows()
    assert statuses == [200, 429, 429]
    assert [(r.status, r.error_code, r.count) for r in rows] == [(200, "", 1), (429, "rate_limited", 1)] + [
        (429, "rate_limited", 1)
    ]
    assert {r.customer.name for r in rows} == {"bursty"}


def test_a_request_without_a_valid_token_is_logged_as_401(api, transactional_db, written_rows):
    response = api.get("/v1/models", headers={"Authorization": "Bearer ipk_0badc0de_not-a-real-secret"})

    [row] = written_rows()
    assert response.status_code == 401
    assert (row.status, row.error_code, row.customer_id) == (401, "invalid_token", None)
    assert row.token_prefix == "ipk_0badc0de"  # the public part only
    assert row.request_id == response.headers["X-Request-Id"]  # first of its minute: still searchable


def test_no_row_holds_a_secret_a_header_or_a_body(api, token, written_rows):
    marker = "BODY-MARKER-7f3a"
    api.get("/v1/models", token=token)
    api.post("/v1/models", token=token, json={"prompt": marker})
    api.get("/v1/models", headers={"Authorization": f"Bearer {token}x"})

    written_rows()
    values = [str(value) for row in RequestLog.objects.values() for value in row.values()]
    assert len(values) > 3 * 10
    for value in values:
        assert token not in value and token.split("_", 2)[2] not in value
        assert "Bearer" not in value and marker not in value
