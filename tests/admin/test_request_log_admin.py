"""The request log in the admin: read-only, newest first, indexed filters, exact search, and no
count over the whole table (docs/operations.md)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.customers.services import customer_get_or_create
from apps.request_logs.admin import RequestLogAdmin

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/request_logs/requestlog/"


def _listed(response) -> list[str]:
    """Request ids in the order the page lists them."""
    assert response.status_code == 200, response.status_code
    return re.findall(r">(req_[a-z0-9_]+)</a>", response.content.decode())


def test_the_list_shows_the_newest_first(admin_client, log_row):
    log_row("req_older", minutes_ago=30)
    log_row("req_newest", minutes_ago=1)
    log_row("req_middle", minutes_ago=10)

    assert _listed(admin_client.get(URL)) == ["req_newest", "req_middle", "req_older"]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("status_class=5", ["req_boom"]),
        ("status_class=4", ["req_limited", "req_missing"]),
        ("status_class=2", ["req_ok", "req_old"]),
        ("error_code=rate_limited", ["req_limited"]),
        ("model=all-minilm-l6-v2", ["req_ok"]),
        ("period=1h", ["req_boom", "req_limited", "req_missing", "req_ok"]),
    ],
)
def test_filters(admin_client, log_row, query, expected):
    log_row("req_ok", minutes_ago=1, model="all-minilm-l6-v2")
    log_row("req_missing", minutes_ago=2, status=404, error_code="not_found")
    log_row("req_limited", minutes_ago=3, status=429, error_code="rate_limited")
    log_row("req_boom", minutes_ago=4, status=503, error_code="model_overloaded")
    log_row("req_old", minutes_ago=3 * 60)

    assert sorted(_listed(admin_client.get(f"{URL}?{query}"))) == sorted(expected)


def test_filter_by_customer(admin_client, log_row):
    acme, other = customer_get_or_create(name="acme"), customer_get_or_create(name="other")
    log_row("req_acme", customer=acme)
    log_row("req_other", customer=other)

    assert _listed(admin_client.get(f"{URL}?customer__id__exact={acme.pk}")) == ["req_acme"]


def test_search_is_exact_by_request_id_or_token_prefix(admin_client, log_row):
    log_row("req_aaaaaaaaaaaaaaaaaaaaaaaa", token_prefix="ipk_1234abcd")
    log_row("req_bbbbbbbbbbbbbbbbbbbbbbbb", token_prefix="ipk_99990000")

    assert _listed(admin_client.get(URL, {"q": "req_aaaaaaaaaaaaaaaaaaaaaaaa"})) == ["req_aaaaaaaaaaaaaaaaaaaaaaaa"]
    assert _listed(admin_client.get(URL, {"q": "ipk_99990000"})) == ["req_bbbbbbbbbbbbbbbbbbbbbbbb"]
    assert _listed(admin_client.get(URL, {"q": "req_aaaa"})) == []  # no prefix scan
    assert _listed(admin_client.get(URL, {"q": "REQ_AAAAAAAAAAAAAAAAAAAAAAAA"})) == []  # ids are case-sensitive


def test_no_query_counts_the_whole_table(admin_client, log_row):
    for i in range(3):
        log_row(f"req_{i}")

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(URL)

    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts (a bounded count)"
    assert all("LIMIT" in sql.upper() for sql in counts), counts
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_past_the_counting_cap_the_page_says_more_not_a_wrong_total(admin_client, log_row, monkeypatch):
    monkeypatch.setattr("apps.request_logs.paginator.CAP", 3)
    monkeypatch.setattr(RequestLogAdmin, "list_per_page", 2)
    for i in range(5):
        log_row(f"req_{i}", minutes_ago=i)

    first, second = admin_client.get(URL), admin_client.get(URL, {"p": "2"})

    assert "More than 3 request logs" in first.content.decode()
    assert _listed(first) == ["req_0", "req_1"]
    assert _listed(second) == ["req_2"]  # the newest CAP rows are browsable; older ones by filter


def test_the_log_is_read_only(admin_client, log_row):
    row = log_row("req_readonly")

    assert admin_client.get(f"{URL}add/").status_code == 403
    detail = admin_client.get(f"{URL}{row.pk}/change/")
    assert detail.status_code == 200 and b"req_readonly" in detail.content
    assert b'name="_save"' not in detail.content
    assert admin_client.post(f"{URL}{row.pk}/change/", {"status": 200}).status_code == 403
    assert admin_client.post(f"{URL}{row.pk}/delete/", {"post": "yes"}).status_code == 403


def test_columns_do_not_sort(admin_client, log_row):
    log_row("req_a", latency_ms=5)
    log_row("req_b", latency_ms=500)

    response = admin_client.get(URL, {"o": "7"})  # would be ORDER BY latency over the whole table

    assert response.status_code == 200
    assert 'class="sortable' not in response.content.decode()


def test_long_batch_ids_are_shortened_with_the_whole_value_in_a_tooltip(admin_client, log_row):
    batch = "batch_Qx7vT2mK9pLz4RwY8nB3cD5f"
    log_row(f"{batch}:12", method="POST", path="/v1/chat/completions")
    log_row("req_results", path=f"/v1/batches/{batch}/results", status=429, error_code="rate_limited", count=3)

    page = admin_client.get(URL).content.decode()

    assert f'<span title="{batch}:12">batch_Qx7vT2…:12</span>' in page
    assert f'title="GET /v1/batches/{batch}/results">GET /v1/batches/batch_Qx7vT2…/results</span>' in page
    assert ">429 rate_limited ×3</span>" in page  # the error code and an aggregated row's count share the status
    assert ">req_results</a>" in page  # request ids stay whole: they are what the search takes
