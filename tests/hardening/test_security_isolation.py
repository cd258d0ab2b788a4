"""Customer A cannot read, replay or learn about customer B's usage, logs or idempotency keys.

"Not found" is the answer for anything that is not yours (404, never 403, so that existence is not
revealed: docs/api-contract.md, "Errors"). Batches have the same cases in tests/batches/test_reading.py
(`test_another_customers_batch_is_not_found`, `test_list_shows_only_the_callers_batches`).
"""

from __future__ import annotations

import pytest

from apps.idempotency.models import IdempotencyRecord
from apps.request_logs.writer import request_log_writer
from apps.usage.models import UsageRecord
from tests.support.envelope import assert_error
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"model": "fake-chat", "prompt": "alpha beta"}


@pytest.fixture(autouse=True)
def fake_model(transactional_db):
    make_fake_model("fake-chat", kind="chat", reply_tokens=3)


@pytest.fixture
def alice() -> str:
    return make_token(customer="alice").secret


@pytest.fixture
def bob() -> str:
    return make_token(customer="bob").secret


def test_usage_shows_only_the_callers_own(api, alice, bob):
    for _ in range(3):
        api.post("/v1/completions", token=alice, json=BODY)
    api.post("/v1/completions", token=bob, json=BODY)

    alices = api.get("/v1/usage", token=alice).json()["data"]["items"]
    bobs = api.get("/v1/usage?start=2000-01-01&end=2000-12-31", token=bob).json()["data"]["items"]
    bobs_today = api.get("/v1/usage", token=bob).json()["data"]["items"]

    assert [item["requests"] for item in alices] == [3]
    assert bobs == [] and [item["requests"] for item in bobs_today] == [1]


def test_the_same_key_with_the_same_body_executes_for_the_other_customer(api, alice, bob):
    first = api.post("/v1/completions", token=alice, json=BODY, headers={"Idempotency-Key": "order-42"})
    other = api.post("/v1/completions", token=bob, json=BODY, headers={"Idempotency-Key": "order-42"})

    assert first.status_code == other.status_code == 200
    assert "Idempotent-Replayed" not in other.headers  # not alice's stored answer
    assert other.json()["data"]["id"] != first.json()["data"]["id"]
    assert UsageRecord.objects.count() == 2 and IdempotencyRecord.objects.count() == 2


def test_the_same_key_with_another_body_tells_the_other_customer_nothing(api, alice, bob):
    api.post("/v1/completions", token=alice, json=BODY, headers={"Idempotency-Key": "order-43"})

    other = api.post(
        "/v1/completions", token=bob, json={**BODY, "prompt": "gamma"}, headers={"Idempotency-Key": "order-43"}
    )

    # A 422 "key reused" would tell bob that alice used this key.
    assert other.status_code == 200 and "Idempotent-Replayed" not in other.headers


def test_a_key_in_progress_for_one_customer_does_not_block_the_other(api, alice, bob):
    from django.utils import timezone

    from apps.customers.models import Customer

    IdempotencyRecord.objects.create(
        customer=Customer.objects.get(name="alice"),
        key="order-44",
        fingerprint="0" * 64,
        expires_at=timezone.now() + timezone.timedelta(hours=1),
        request_id="req_" + "a" * 24,
    )

    response = api.post("/v1/completions", token=bob, json=BODY, headers={"Idempotency-Key": "order-44"})

    assert response.status_code == 200  # not alice's 409


@pytest.mark.parametrize(
    "path",
    [
        "/v1/logs",
        "/v1/request_logs",
        "/v1/requests/{request_id}",
        "/v1/usage/{request_id}",
        "/v1/idempotency/order-45",
        "/v1/customers",
        "/v1/tokens",
    ],
)
def test_there_is_no_way_to_reach_another_customers_logs_or_records(api, alice, bob, path):
    mine = api.post("/v1/completions", token=alice, json=BODY, headers={"Idempotency-Key": "order-45"})
    request_log_writer.flush()

    response = api.get(path.format(request_id=mine.headers["X-Request-Id"]), token=bob)

    error = assert_error(response, 404, "not_found")
    # The very answer a path that names nothing gets: only the caller's own path comes back.
    made_up = api.get(path.format(request_id="req_" + "x" * 24), token=bob).json()["error"]
    assert error == {**made_up, "message": error["message"]} and "alice" not in response.text
