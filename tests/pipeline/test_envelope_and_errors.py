"""Every `/v1/` response: the envelope, X-Request-Id and the rate-limit headers (docs/api-contract.md)."""

from __future__ import annotations

import pytest

from tests.support.envelope import assert_envelope, assert_error, assert_rate_limit_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_success_has_envelope_and_headers(api, token, local_models):
    response = api.get("/v1/models", token=token)

    assert response.status_code == 200
    body = assert_envelope(response)
    assert body["error"] is None
    assert [m["id"] for m in body["data"]["items"]] == ["all-minilm-l6-v2", "smollm2-135m-instruct"]
    assert body["data"]["next_cursor"] is None
    assert_rate_limit_headers(response, limit=50)


def test_no_token_is_401_with_headers(api, transactional_db):
    response = api.get("/v1/models")

    error = assert_error(response, 401, "authentication_required")
    assert error["param"] is None and error["details"] is None
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_rate_limit_headers(response, limit=5)  # anonymous requests are limited per IP


@pytest.mark.parametrize("header", ["Bearer ipk_00000000_nope", "Bearer", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500])
def test_bad_token_is_401_invalid_token(api, transactional_db, header):
    response = api.get("/v1/models", headers={"Authorization": header})

    assert_error(response, 401, "invalid_token")


def test_a_token_without_its_scheme_is_told_what_is_missing(api, token):
    error = assert_error(api.get("/v1/models", headers={"Authorization": token}), 401, "invalid_token")

    assert "'Bearer '" in error["message"] and "Authorization: Bearer <token>" in error["message"]


def test_unknown_path_is_404_envelope(api, token):
    assert_error(api.get("/v1/no/such/thing", token=token), 404, "not_found")


def test_unknown_path_without_token_is_401_not_404(api, transactional_db):
    # Unauthenticated callers learn nothing about which paths exist.
    assert_error(api.get("/v1/no/such/thing"), 401, "authentication_required")


def test_wrong_method_is_405_with_allow(api, token):
    response = api.request("DELETE", "/v1/models", token=token)

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, HEAD"


def test_options_is_405(api, token):
    assert_error(api.request("OPTIONS", "/v1/models", token=token), 405, "method_not_allowed")


def test_body_over_limit_is_413_without_reading_it(api, token, settings):
    big = b"{" + b" " * (settings.API_MAX_BODY_BYTES + 10) + b"}"
    response = api.post("/v1/models", token=token, content=big, headers={"Content-Type": "application/json"})

    assert_error(response, 413, "payload_too_large")


def test_chunked_body_over_limit_is_413(api, token, settings):
    async def chunks():  # no Content-Length: the guard must count while it reads
        for _ in range(settings.API_MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = api.post("/v1/models", token=token, content=chunks(), headers={"Content-Type": "application/json"})

    assert_error(response, 413, "payload_too_large")


def test_unhandled_exception_is_500_envelope_without_traceback(api, token, monkeypatch):
    from apps.inference import views

    def explode(**_kw):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(views, "models_visible_to", explode)
    response = api.get("/v1/models", token=token)

    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["meta"]["request_id"] in error["message"] or "request id" in error["message"]


def test_database_down_is_503_service_unavailable(api, token, monkeypatch):
    from django.db import OperationalError

    from apps.inference import views

    def database_down(**_kw):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "models_visible_to", database_down)

    assert_error(api.get("/v1/models", token=token), 503, "service_unavailable")


def test_request_ids_are_unique(api, token):
    ids = {api.get("/v1/models", token=token).headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_accept_header_is_ignored_not_406(api, token, local_models):
    response = api.get("/v1/models", token=token, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert_envelope(response)


def test_schema_document_is_public_and_raw(api, transactional_db):
    response = api.get("/v1/openapi.json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    assert "X-Request-Id" in response.headers
    assert_rate_limit_headers(response)


def test_docs_page_uses_local_assets(transactional_db):
    from django.test import Client

    html = Client().get("/docs").content.decode()
    assert "/v1/openapi.json" in html
    assert "cdn" not in html.lower() and "https://" not in html
