"""The admin's Limits page (docs/operations.md, "Limits"): every customer and token with its limit in
effect, where it comes from and the last minute's peak, editable in place; a change applies on the
next API request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from apps.customers.models import ApiToken, Customer
from apps.customers.services import tokens_revoke
from apps.operations.limits import peak_per_second
from apps.request_logs.models import RequestLog
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/customers/limit/"


def _limit(api, secret: str) -> str:
    return api.get("/v1/models", token=secret).headers["X-RateLimit-Limit"]


def _row(page: str, row_id: str) -> str:
    start = page.index(f'id="{row_id}"')
    return page[start : page.index("</tr>", start)]


def test_every_customer_and_token_with_its_limit_in_effect_and_where_it_comes_from(admin_client):
    web = make_token(customer="enterprise", customer_rate=300, name="web")
    batch = make_token(customer="enterprise", rate=9, name="batch")
    plain = make_token(customer="small-shop", name="shop")
    gone = make_token(customer="small-shop", name="old")
    tokens_revoke(tokens=[gone.token])

    page = admin_client.get(PAGE).content.decode()

    enterprise, small = web.token.customer_id, plain.token.customer_id
    assert "300 req/s" in _row(page, f"customer-{enterprise}") and "negotiated" in _row(page, f"customer-{enterprise}")
    assert "300 req/s" in _row(page, f"token-{web.token.pk}")
    assert "customer&#x27;s negotiated limit" in _row(page, f"token-{web.token.pk}")
    assert "9 req/s" in _row(page, f"token-{batch.token.pk}") and "token override" in _row(
        page, f"token-{batch.token.pk}"
    )
    assert "50 req/s" in _row(page, f"token-{plain.token.pk}") and "default" in _row(page, f"token-{plain.token.pk}")
    assert "50 req/s" in _row(page, f"customer-{small}")
    assert f'id="token-{gone.token.pk}"' not in page  # a revoked token has no limit in effect


def test_the_peak_is_the_busiest_second_of_the_last_minute(log_row):
    issued = make_token(customer="enterprise", name="web")
    prefix, now = issued.token.prefix, timezone.now().replace(microsecond=500_000)
    for i in range(3):
        log_row(f"req_a{i}", token_prefix=prefix, created_at=now - timedelta(seconds=10))
    log_row("req_noise", token_prefix=prefix, created_at=now - timedelta(seconds=20), count=2, status=429)
    log_row("req_b", token_prefix=prefix, created_at=now - timedelta(seconds=20))
    for i in range(5):  # busier, but more than a minute ago
        log_row(f"req_old{i}", token_prefix=prefix, created_at=now - timedelta(seconds=90))
    log_row("req_other", token_prefix="ipk_other", created_at=now - timedelta(seconds=10))

    assert peak_per_second(prefixes=[prefix, "ipk_none"], now=now) == {prefix: 3}


def test_the_page_shows_each_tokens_peak_against_its_limit(admin_client, log_row):
    issued = make_token(customer="enterprise", rate=4, name="web")
    for i in range(5):
        log_row(f"req_{i}", token_prefix=issued.token.prefix, created_at=timezone.now() - timedelta(seconds=5))

    row = _row(admin_client.get(PAGE).content.decode(), f"token-{issued.token.pk}")

    assert "5/s" in row and "125.0%" in row and "over" in row


def test_a_negotiated_limit_changed_on_the_page_applies_on_the_next_request(api, admin_client):
    issued = make_token(customer="enterprise", name="web")
    assert _limit(api, issued.secret) == "50"  # cached by the token cache from here on

    response = admin_client.post(PAGE, {f"customer-{issued.token.customer_id}": "250"}, follow=True)

    assert "enterprise: 250 req/s" in response.content.decode()
    assert Customer.objects.get(pk=issued.token.customer_id).requests_per_second == 250
    assert _limit(api, issued.secret) == "250"


def test_a_token_override_set_and_cleared_on_the_page_applies_on_the_next_request(api, admin_client):
    issued = make_token(customer="enterprise", customer_rate=250, name="web")
    assert _limit(api, issued.secret) == "250"
    customer_field = f"customer-{issued.token.customer_id}"

    admin_client.post(PAGE, {customer_field: "250", f"token-{issued.token.pk}": "12"})
    assert _limit(api, issued.secret) == "12"

    admin_client.post(PAGE, {customer_field: "250", f"token-{issued.token.pk}": ""})
    assert ApiToken.objects.get(pk=issued.token.pk).requests_per_second is None
    assert _limit(api, issued.secret) == "250"


def test_a_bad_value_saves_nothing_and_says_which(admin_client):
    issued = make_token(customer="enterprise", name="web")
    customer_id = issued.token.customer_id

    response = admin_client.post(
        PAGE, {f"customer-{customer_id}": "300", f"token-{issued.token.pk}": "lots"}, follow=True
    )

    page = response.content.decode()
    assert "Nothing saved" in page and "enterprise / web" in page and "lots" in page
    assert Customer.objects.get(pk=customer_id).requests_per_second is None


def test_customers_are_searchable_and_paged(admin_client):
    for i in range(30):
        Customer.objects.create(name=f"shop-{i:02}")

    first = admin_client.get(PAGE).content.decode()
    found = admin_client.get(PAGE, {"q": "shop-29"}).content.decode()

    assert "page 1 of 2" in first and "shop-00" in first and "shop-29" not in first
    assert "shop-29" in found and "shop-00" not in found


def test_who_may_only_view_customers_sees_the_limits_but_cannot_change_them(client):
    issued = make_token(customer="enterprise", name="web")
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_customer", "view_apitoken"], content_type__app_label="customers")
    )
    client.force_login(viewer)

    page = client.get(PAGE).content.decode()
    client.post(PAGE, {f"customer-{issued.token.customer_id}": "999"})

    assert "50 req/s" in page and 'type="number"' not in page and "Save limits" not in page
    assert Customer.objects.get(pk=issued.token.customer_id).requests_per_second is None


def test_the_admin_index_lists_api_tokens_and_limits_under_customers(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "API tokens" in page and "Api tokens" not in page
    assert f'href="{PAGE}"' in page and ">Limits<" in page


def test_no_request_log_rows_are_needed_for_an_idle_platform(admin_client):
    make_token(customer="enterprise", name="web")

    assert admin_client.get(PAGE).status_code == 200
    assert not RequestLog.objects.exists()
