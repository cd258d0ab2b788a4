"""Scanners don't hurt: rejected requests without a valid token are aggregated per
(client IP, path, status, error code, minute) into rows with a count (noise.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from apps.request_logs.noise import OVERFLOW, NoiseAggregator
from tests.support.api_client import ApiClient
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def _counts(rows) -> dict[tuple[str, int], int]:
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for row in rows:
        counts[(row.client_ip, row.status)] += row.count
    return dict(counts)


def test_a_scanner_leaves_a_few_counted_rows_not_one_per_request(api, transactional_db, clock, settings, written_rows):
    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    for i in range(limit + 40):
        api.get(f"/v1/wp-admin/{i % 2}", headers={"Authorization": f"Bearer ipk_guess{i}"})

    rows = written_rows()
    assert len(rows) <= 4 * 2  # (2 paths x 2 statuses), at most one minute boundary crossed
    assert sum(row.count for row in rows) == limit + 40
    assert _counts(rows) == {("127.0.0.1", 401): limit, ("127.0.0.1", 429): 40}
    assert {row.customer_id for row in rows} == {None}


def test_each_client_address_gets_its_own_rows(transactional_db, clock, written_rows):
    for address in ("10.0.0.1", "10.0.0.2"):
        for _ in range(3):
            ApiClient(client_ip=address).get("/v1/models")

    assert _counts(written_rows()) == {("10.0.0.1", 401): 3, ("10.0.0.2", 401): 3}


def _noise(ip: str, path: str, at: datetime) -> dict:
    return {"customer_id": None, "client_ip": ip, "path": path, "status": 401, "error_code": "invalid_token"} | {
        "method": "GET",
        "latency_ms": 2.0,
        "created_at": at,
        "request_id": f"req_{ip}{path}",
    }


def test_a_bucket_is_written_once_its_minute_has_closed():
    noise = NoiseAggregator(max_buckets=100)
    minute = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    noise.add(_noise("10.0.0.1", "/v1/a", minute + timedelta(seconds=5)))
    noise.add(_noise("10.0.0.1", "/v1/a", minute + timedelta(seconds=50)))

    assert noise.drain(now=minute + timedelta(seconds=59)) == []
    [row] = noise.drain(now=minute + timedelta(minutes=1))
    assert (row["count"], row["request_id"], row["created_at"]) == (
        2,
        "req_10.0.0.1/v1/a",
        minute + timedelta(seconds=5),
    )


def test_past_the_bucket_bound_noise_is_counted_in_one_overflow_row():
    noise = NoiseAggregator(max_buckets=3)
    minute = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    for i in range(1000):
        noise.add(_noise(f"10.0.{i // 250}.{i % 250}", f"/v1/{i}", minute))

    rows = noise.drain()
    assert len(rows) == 4
    assert sum(row["count"] for row in rows) == 1000
    overflow = next(row for row in rows if row["path"] == OVERFLOW)
    assert (overflow["count"], overflow["client_ip"]) == (997, None)


def test_a_customer_is_never_counted_as_noise_by_a_process_that_has_not_seen_its_token(
    api, clock, settings, written_rows
):
    """Issue 20 (`make soak` lost rows and over-counted noise one run in two): a worker whose token
    cache has not held a token in use (a second worker, or any worker after a token changed) got
    that token's request while scanners on the same address had spent the per-IP budget; it
    refused the token unread as a guess, so the customer got a 429 and its row became noise."""
    from apps.customers.token_cache import token_cache

    issued = make_token(customer="neighbour")
    assert api.get("/v1/models", token=issued.secret).status_code == 200  # in use, on one worker
    token_cache.clear()  # another worker: its cache never held the token
    guesses = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND + 3
    for n in range(guesses):
        api.get("/v1/models", token=f"ipk_guess{n:04}_wrong")

    mine = api.get("/v1/models", token=issued.secret)

    assert mine.status_code == 200
    rows = written_rows()
    customer_rows = {row.request_id for row in rows if row.customer_id == issued.token.customer_id}
    assert mine.headers["X-Request-Id"] in customer_rows
    assert sum(row.count for row in rows if row.customer_id is None) == guesses
