"""Enterprise limit tuning (docs/api-contract.md, "Rate limits"; docs/operations.md): an operator
changes a limit in the admin, and the next API request runs under it."""

from __future__ import annotations

import pytest

from apps.customers.models import ApiToken, Customer
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def _customer_form(customer: Customer, *, limit: str, token_limits: dict[int, str] | None = None) -> dict[str, str]:
    tokens = list(customer.tokens.order_by("-created_at"))
    data = {
        "name": customer.name,
        "is_active": "on",
        "requests_per_second": limit,
        "notes": "",
        "tokens-TOTAL_FORMS": str(len(tokens)),
        "tokens-INITIAL_FORMS": str(len(tokens)),
        "tokens-MIN_NUM_FORMS": "0",
        "tokens-MAX_NUM_FORMS": "1000",
    }
    for i, token in enumerate(tokens):
        data[f"tokens-{i}-id"] = str(token.pk)
        data[f"tokens-{i}-customer"] = str(customer.pk)
        data[f"tokens-{i}-requests_per_second"] = (token_limits or {}).get(token.pk, "")
    return data


def _limit(api, secret: str) -> str:
    return api.get("/v1/models", token=secret).headers["X-RateLimit-Limit"]


def test_the_customer_page_shows_each_tokens_limit_in_effect(admin_client):
    issued = make_token(customer="enterprise", customer_rate=300)
    make_token(customer="enterprise", rate=9, name="batch")

    page = admin_client.get(f"/admin/customers/customer/{issued.token.customer_id}/change/").content.decode()

    assert "300 req/s (negotiated)" in page
    assert "9 req/s (token override)" in page


def test_a_negotiated_limit_set_in_the_admin_applies_on_the_next_request(api, admin_client):
    issued = make_token(customer="enterprise")
    assert _limit(api, issued.secret) == "50"  # cached by the token cache from here on
    customer = issued.token.customer

    response = admin_client.post(
        f"/admin/customers/customer/{customer.pk}/change/", _customer_form(customer, limit="250")
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _limit(api, issued.secret) == "250"


def test_a_token_override_set_on_the_customer_page_applies_on_the_next_request(api, admin_client):
    issued = make_token(customer="enterprise", customer_rate=250)
    assert _limit(api, issued.secret) == "250"
    customer = issued.token.customer

    form = _customer_form(customer, limit="250", token_limits={issued.token.pk: "12"})
    assert admin_client.post(f"/admin/customers/customer/{customer.pk}/change/", form).status_code == 302

    assert _limit(api, issued.secret) == "12"


def test_clearing_an_override_on_the_token_page_falls_back_to_the_customer_limit(api, admin_client):
    issued = make_token(customer="enterprise", customer_rate=250, rate=12)
    assert _limit(api, issued.secret) == "12"
    token = ApiToken.objects.get(pk=issued.token.pk)

    response = admin_client.post(
        f"/admin/customers/apitoken/{token.pk}/change/",
        {"customer": str(token.customer_id), "name": token.name, "requests_per_second": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _limit(api, issued.secret) == "250"
