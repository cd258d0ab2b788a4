"""Usage per customer, UTC day and model in the admin, aggregated from the usage records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.customers.services import customer_get_or_create
from apps.usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/usage/dailyusage/"


def charge(log_row, request_id, customer, prompt, completion, *, model="smollm2-135m-instruct", minutes_ago=0):
    """A charged request leaves a usage record and a request-log row."""
    log_row(request_id, customer=customer, model=model, minutes_ago=minutes_ago)
    UsageRecord.objects.create(
        request_id=request_id,
        customer=customer,
        model=model,
        endpoint="chat.completions",
        prompt_tokens=prompt,
        completion_tokens=completion,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def usage(log_row):
    acme, beta = customer_get_or_create(name="acme"), customer_get_or_create(name="beta")
    charge(log_row, "req_1", acme, 10, 5)
    charge(log_row, "req_2", acme, 20, 7)
    charge(log_row, "req_3", acme, 8, 0, model="all-minilm-l6-v2")
    charge(log_row, "req_4", beta, 1, 1, minutes_ago=3 * 24 * 60)
    charge(log_row, "req_6", acme, 99, 99, minutes_ago=40 * 24 * 60)  # outside the window
    return acme, beta


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return [line.split(",") for line in response.content.decode().strip().splitlines()[1:]]


def test_usage_is_summed_per_customer_day_and_model(admin_client, usage):
    rows = _csv(admin_client.get(URL, {"format": "csv", "days": "7"}))

    assert [row[2:] for row in rows] == [
        ["acme", "all-minilm-l6-v2", "1", "8", "0"],
        ["acme", "smollm2-135m-instruct", "2", "30", "12"],
        ["beta", "smollm2-135m-instruct", "1", "1", "1"],
    ]


def test_usage_for_one_customer_and_one_day(admin_client, usage):
    acme, _ = usage

    rows = _csv(admin_client.get(URL, {"format": "csv", "days": "1", "customer": str(acme.pk)}))

    assert [(row[2], row[3], row[4]) for row in rows] == [
        ("acme", "all-minilm-l6-v2", "1"),
        ("acme", "smollm2-135m-instruct", "2"),
    ]


def test_the_page_shows_totals_and_links_to_the_requests(admin_client, usage):
    response = admin_client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="usage-table"' in page
    assert ">52<" in page  # total tokens of the last 7 days: 15 + 27 + 8 + 2
    assert "/admin/request_logs/requestlog/?customer__id__exact=" in page


def test_the_linked_request_log_lists_that_days_requests(admin_client, usage):
    acme, _ = usage
    page = admin_client.get(URL, {"customer": str(acme.pk), "days": "1"}).content.decode()
    link = next(
        part.split('"')[0] for part in page.split('href="')[1:] if "model=smollm2" in part.split('"')[0]
    ).replace("&amp;", "&")

    listed = admin_client.get(link).content.decode()

    assert "req_1" in listed and "req_2" in listed and "req_3" not in listed and "req_6" not in listed
