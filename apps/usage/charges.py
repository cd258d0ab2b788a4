"""A charge is what an execution costs; it is committed by the pipeline, not by the service, so
that it lands in one transaction with the idempotency key's completion (or not at all)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from apps.backends.base import Usage

from .models import UsageRecord


@dataclass(frozen=True, slots=True)
class Charge:
    customer_id: int
    token_id: int | None
    model: str
    endpoint: str
    usage: Usage


def usage_record(*, charge: Charge, request_id: str) -> UsageRecord:
    """Persist a charge. Call inside the transaction that completes the request."""
    return UsageRecord.objects.create(
        customer_id=charge.customer_id,
        token_id=charge.token_id,
        model=charge.model,
        endpoint=charge.endpoint,
        prompt_tokens=charge.usage.prompt_tokens,
        completion_tokens=charge.usage.completion_tokens,
        request_id=request_id,
    )


def usage_by_day_and_model(*, customer_id: int, start: date, end: date) -> list[dict[str, Any]]:
    """Totals per UTC day and model for `start <= day <= end`, oldest first."""
    rows = (
        UsageRecord.objects.filter(customer_id=customer_id, created_at__date__gte=start, created_at__date__lte=end)
        .annotate(day=TruncDate("created_at"))
        .values("day", "model")
        .annotate(prompt_tokens=Sum("prompt_tokens"), completion_tokens=Sum("completion_tokens"), requests=Count("id"))
        .order_by("day", "model")
    )
    return [
        {**row, "day": _as_date(row["day"]), "total_tokens": row["prompt_tokens"] + row["completion_tokens"]}
        for row in rows
    ]


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
