"""Token usage per UTC day, customer and model: the one computation behind `GET /v1/usage` and the
admin's daily usage page. It reads the usage records, the one record of what was charged (API
requests, streams and batch items alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncDate

from apps.customers.models import Customer

from .models import UsageRecord


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
    then by customer id and model."""
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    end = datetime.combine(last_day, time.min, tzinfo=UTC) + timedelta(days=1)
    rows = UsageRecord.objects.filter(created_at__gte=start, created_at__lt=end)  # a range: the index serves it
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    grouped = (
        rows.annotate(day=TruncDate("created_at"))
        .values("day", "customer_id", "model")
        .annotate(
            requests=Count("pk"),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
        )
        .order_by()  # no ORDER BY: PostgreSQL then hashes the groups instead of sorting every row
    )
    grouped_rows = sorted(grouped, key=lambda v: (-_as_date(v["day"]).toordinal(), v["customer_id"], v["model"]))
    ids = {values["customer_id"] for values in grouped_rows}
    names = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [_row(values, names) for values in grouped_rows]


def _row(values: Mapping[str, Any], names: dict[int, str]) -> UsageRow:
    return UsageRow(
        day=_as_date(values["day"]),
        customer_id=values["customer_id"],
        customer_name=names.get(values["customer_id"], f"#{values['customer_id']}"),
        model=values["model"],
        requests=values["requests"],
        prompt_tokens=values["prompt"],
        completion_tokens=values["completion"],
    )


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
