"""Token usage per UTC day, customer and model: the one computation behind `GET /v1/usage` and the
admin's daily usage page. It reads the usage records (the one record of what was charged: API
requests, streams and batch items alike) through their daily rollup (rollup.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate

from apps.customers.models import Customer

from .models import UsageDay, UsageRecord, UsageRollupMark


@dataclass(frozen=True, slots=True)
class UsageRow:
    day: date
    customer_id: int
    customer_name: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def usage_totals(*, first_day: date, last_day: date, customer_id: int | None = None) -> list[UsageRow]:
    """Totals per (UTC day, customer, model) for first_day..last_day inclusive, newest day first,
    then by customer id and model: the rollup's rows plus the records after its mark."""
    while True:
        mark = _rollup_mark()
        sums = _sums(first_day, last_day, customer_id, mark)
        # A catch-up committing between reading the mark and reading the sums would count its
        # records twice (in the rollup and after the old mark): read again (rare, and cheap).
        if _rollup_mark() == mark:
            break
    names = dict(Customer.objects.filter(pk__in={customer for _, customer, _ in sums}).values_list("pk", "name"))
    keys = sorted(sums, key=lambda key: (-key[0].toordinal(), key[1], key[2]))
    return [_row(key, sums[key], names) for key in keys]


def _rollup_mark() -> int:
    return UsageRollupMark.objects.filter(pk=1).values_list("last_record_id", flat=True).first() or 0


def _sums(first_day: date, last_day: date, customer_id: int | None, mark: int) -> dict[Key, list[int]]:
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    end = datetime.combine(last_day, time.min, tzinfo=UTC) + timedelta(days=1)
    rolled = UsageDay.objects.filter(day__gte=first_day, day__lte=last_day)
    # The mark as a literal: the planner then walks the primary key from it (the few records after
    # it), where a subquery would have it scan the customer's whole period.
    recent = UsageRecord.objects.filter(id__gt=mark, created_at__gte=start, created_at__lt=end)
    if customer_id is not None:
        rolled, recent = rolled.filter(customer_id=customer_id), recent.filter(customer_id=customer_id)
    recent_sums = (
        recent.annotate(day=TruncDate("created_at"))
        .values("day", "customer_id", "model")
        .annotate(
            requests=Count("pk"),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
        )
        .order_by()
        .values_list("day", "customer_id", "model", "requests", "prompt", "completion")
    )
    fields = ("day", "customer_id", "model", "requests", "prompt_tokens", "completion_tokens")
    sums: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, customer, model, requests, prompt, completion in rolled.values_list(*fields).union(recent_sums, all=True):
        totals = sums[(_as_date(day), customer, model)]
        totals[0] += requests
        totals[1] += prompt
        totals[2] += completion
    return sums


Key = tuple[date, int, str]


def _row(key: Key, totals: list[int], names: dict[int, str]) -> UsageRow:
    day, customer_id, model = key
    return UsageRow(
        day=day,
        customer_id=customer_id,
        customer_name=names.get(customer_id, f"#{customer_id}"),
        model=model,
        requests=totals[0],
        prompt_tokens=totals[1],
        completion_tokens=totals[2],
    )


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
