"""The operator's dashboard on the admin index: traffic charts, top customers, limits vs usage."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.customers.services import customer_get_or_create
from apps.operations.latency_histogram import latency_percentile
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def _tile(page: str, tile_id: str) -> str:
    match = re.search(rf'id="{tile_id}">[^<]*<strong>([^<]*)</strong>', page)
    assert match, tile_id
    return match.group(1)


@pytest.fixture
def traffic(log_row):
    acme, beta = customer_get_or_create(name="acme"), customer_get_or_create(name="beta", requests_per_second=200)
    for i in range(8):
        log_row(f"req_a{i}", customer=acme, latency_ms=20.0, minutes_ago=0.1 + i)
    log_row("req_a_fail", customer=acme, status=500, error_code="internal_error", latency_ms=900.0, minutes_ago=0.5)
    log_row("req_b", customer=beta, latency_ms=40.0, minutes_ago=0.2)
    log_row("req_scan", status=401, error_code="authentication_required", count=30, latency_ms=0.5)
    log_row("req_yesterday", customer=beta, minutes_ago=20 * 60)
    return acme, beta


def test_the_index_shows_the_last_hour(admin_client, traffic):
    page = admin_client.get("/admin/").content.decode()

    assert 'id="operator-dashboard"' in page
    assert _tile(page, "tile-requests") == "40"  # 8 + 1 + 1 + 30 aggregated scanner requests
    assert _tile(page, "tile-error-rate") == "2.5%"  # one 5xx in 40
    # Latency of the 10 requests with a token (8 x 20 ms, 40 ms, 900 ms), interpolated in the
    # histogram: p50 inside (10, 25] ms, p95 inside (500, 1000] ms. The scanner's 0.5 ms is left out.
    assert (_tile(page, "tile-p50"), _tile(page, "tile-p95")) == ("19 ms", "750 ms")
    for chart in ("chart-requests", "chart-errors", "chart-latency"):
        assert re.search(rf'id="{chart}">.*?<svg class="rl-chart"', page, re.S), chart
    top = page.split('id="top-customers"')[1].split("</table>")[0]
    assert top.index("acme") < top.index("beta")  # busiest first
    assert "Django administration" in page and "Request logs" in page  # the app list is still there


def test_the_day_window_includes_earlier_hours(admin_client, traffic):
    page = admin_client.get("/admin/", {"window": "day"}).content.decode()

    assert "Traffic, last day" in page
    assert _tile(page, "tile-requests") == "41"


def test_each_customer_shows_its_limit_and_current_usage(admin_client, traffic):
    acme, _ = traffic
    make_token(customer="acme", rate=7, name="override")

    page = admin_client.get("/admin/").content.decode()

    limits = page.split('id="customer-limits"')[1].split("</table>")[0]
    rows = {
        name: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for name, row in re.findall(r">(acme|beta)</a></td>(.*?)</tr>", limits, re.S)
    }
    assert rows["acme"][:2] == ["50", "7"]  # default limit; one token overrides with 7 req/s
    assert rows["beta"][:1] == ["200"]  # negotiated
    assert rows["acme"][2] == "2"  # requests in the last minute
    assert rows["acme"][3] == "0.1%"  # 2 / (60 x 50)


def test_staff_without_log_permission_see_no_dashboard(transactional_db):
    client = Client()
    client.force_login(User.objects.create_user("viewer", password="pw", is_staff=True))

    page = client.get("/admin/").content.decode()

    assert "operator-dashboard" not in page


@pytest.mark.parametrize(
    "under,total,quantile,expected",
    [
        ((0, 10) + (10,) * 11, 10, 0.5, 7.5),  # all in (5, 10] ms: halfway through the bucket
        ((10,) * 13, 10, 0.95, 4.75),
        ((0,) * 13, 4, 0.5, 60_000.0),  # slower than the last bound: the last bound
        ((0,) * 13, 0, 0.5, None),
    ],
)
def test_latency_percentiles_interpolate_within_the_histogram(under, total, quantile, expected):
    assert latency_percentile(under, total, quantile) == expected
