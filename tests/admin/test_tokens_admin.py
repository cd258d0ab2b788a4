"""Tokens in the admin (docs/operations.md): the secret is shown once, then never again; revoking works on
the next request."""

from __future__ import annotations

import re

import pytest

from apps.customers.models import ApiToken
from apps.customers.services import customer_get_or_create

pytestmark = pytest.mark.django_db(transaction=True)

ADD_URL = "/admin/customers/apitoken/add/"


def _create_token(admin_client, *, name: str = "ci") -> tuple[ApiToken, str]:
    customer = customer_get_or_create(name="acme")
    response = admin_client.post(
        ADD_URL, {"customer": str(customer.pk), "name": name, "expires_at_0": "", "expires_at_1": ""}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return ApiToken.objects.get(name=name), response["Location"]


def _secret(page: str) -> str | None:
    match = re.search(r'id="token-secret"[^>]*>([^<]+)<', page)
    return match.group(1) if match else None


def test_creating_a_token_shows_its_secret_once(api, admin_client):
    token, created_url = _create_token(admin_client)

    first = admin_client.get(created_url)
    secret = _secret(first.content.decode())

    assert created_url == f"/admin/customers/apitoken/{token.pk}/created/"
    assert "no-store" in first["Cache-Control"]
    assert secret is not None and secret.startswith(token.prefix + "_")
    assert api.get("/v1/models", token=secret).status_code == 200
    assert token.secret_hash != secret and secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())

    reloaded = admin_client.get(created_url).content.decode()
    assert _secret(reloaded) is None and 'id="token-secret-gone"' in reloaded
    for page in (f"/admin/customers/apitoken/{token.pk}/change/", "/admin/customers/apitoken/"):
        assert secret not in admin_client.get(page).content.decode()


def test_revoking_a_token_in_the_admin_makes_the_next_request_401(api, admin_client):
    token, created_url = _create_token(admin_client)
    secret = _secret(admin_client.get(created_url).content.decode())
    assert api.get("/v1/models", token=secret).status_code == 200

    response = admin_client.post(
        "/admin/customers/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]}
    )

    assert response.status_code == 302
    assert api.get("/v1/models", token=secret).status_code == 401


def test_the_created_page_of_another_session_shows_nothing(admin_client, client, admin_user):
    token, created_url = _create_token(admin_client)
    client.force_login(admin_user)  # the same operator, another browser

    assert _secret(client.get(created_url).content.decode()) is None
    assert _secret(admin_client.get(created_url).content.decode()) is not None
