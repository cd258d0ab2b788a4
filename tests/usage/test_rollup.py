"""Usage totals through the daily rollup: exact before, during and after a catch-up, never counting
a record twice, and leaving the records younger than its lag for the next one."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connections
from django.utils import timezone

from apps.customers.services import customer_get_or_create
from apps.usage.models import UsageDay, UsageRecord, UsageRollupMark
from apps.usage.rollup import LAG, rollup_catch_up
from apps.usage.totals import usage_totals

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def charge(customer, *, at: datetime, model: str = "m", prompt: int = 3, completion: int = 2) -> UsageRecord:
    charge.n = getattr(charge, "n", 0) + 1  # type: ignore[attr-defined]
    return UsageRecord.objects.create(
        customer=customer,
        model=model,
        endpoint="chat.completions",
        prompt_tokens=prompt,
        completion_tokens=completion,
        request_id=f"req_rollup_{charge.n}",  # type: ignore[attr-defined]
        created_at=at,
    )


def totals(customer_id: int | None = None) -> list[tuple[date, str, str, int, int, int]]:
    rows = usage_totals(first_day=date(2026, 12, 1), last_day=date(2026, 12, 5), customer_id=customer_id)
    return [(r.day, r.customer_name, r.model, r.requests, r.prompt_tokens, r.completion_tokens) for r in rows]


@pytest.fixture
def customers():
    return customer_get_or_create(name="acme"), customer_get_or_create(name="beta")


def test_totals_are_the_same_before_and_after_the_rollup(customers):
    acme, beta = customers
    for days_ago, model in [(0, "m"), (0, "m"), (0, "e"), (1, "m"), (3, "m")]:
        charge(acme, at=NOW - timedelta(days=days_ago, minutes=5), model=model)
    charge(beta, at=NOW - timedelta(minutes=5))
    before = totals()

    added = rollup_catch_up(now=NOW)

    assert added == 6 and UsageDay.objects.count() == 5
    assert totals() == before
    assert totals(acme.pk) == [row for row in before if row[1] == "acme"]
    assert before[0] == (date(2026, 12, 5), "acme", "e", 1, 3, 2)
    assert (date(2026, 12, 5), "acme", "m", 2, 6, 4) in before


def test_records_after_the_mark_are_added_to_the_rolled_up_ones(customers):
    acme, _ = customers
    charge(acme, at=NOW - timedelta(minutes=10))
    rollup_catch_up(now=NOW)
    charge(acme, at=NOW - timedelta(minutes=9), prompt=10, completion=0)

    assert totals() == [(date(2026, 12, 5), "acme", "m", 2, 13, 2)]
    rollup_catch_up(now=NOW)
    assert totals() == [(date(2026, 12, 5), "acme", "m", 2, 13, 2)]
    assert UsageDay.objects.get().requests == 2  # rolled up once each, however many catch-ups ran


def test_records_younger_than_the_lag_wait_for_the_next_catch_up(customers):
    acme, _ = customers
    old = charge(acme, at=NOW - LAG - timedelta(seconds=1))
    young = charge(acme, at=NOW - timedelta(seconds=5))
    older_but_later = charge(acme, at=NOW - LAG - timedelta(seconds=30))  # a larger id, committed late

    assert rollup_catch_up(now=NOW) == 1  # stops before the first young record: `older_but_later` waits too
    assert UsageRollupMark.objects.get().last_record_id == old.pk < young.pk < older_but_later.pk
    assert totals() == [(date(2026, 12, 5), "acme", "m", 3, 9, 6)]
    assert rollup_catch_up(now=NOW + LAG) == 2
    assert totals() == [(date(2026, 12, 5), "acme", "m", 3, 9, 6)]


def test_concurrent_catch_ups_add_each_record_once(customers):
    acme, beta = customers
    for minute in range(40):
        charge(acme if minute % 2 else beta, at=NOW - timedelta(hours=1, minutes=minute))
    errors: list[BaseException] = []

    def catch_up() -> None:
        try:
            rollup_catch_up(now=NOW, max_records=7)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=catch_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sum(UsageDay.objects.values_list("requests", flat=True)) == 40
    assert sum(row[3] for row in totals()) == 40


def test_the_rollup_reaches_today_by_itself_when_the_clock_moves(customers):
    acme, _ = customers
    charge(acme, at=timezone.now() - LAG * 2)

    assert rollup_catch_up() == 1
