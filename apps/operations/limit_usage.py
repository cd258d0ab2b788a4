"""Each customer's effective limit against what it used in the last minute, for the dashboard.

Shown: active customers with traffic in the last minute, a negotiated limit or a token override,
busiest first. Usage is requests in the last minute / (60 x the limit): the limit counts per token
and second, so a customer with several busy tokens can pass 100% without a single 429.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, Sum

from apps.customers.models import ApiToken, Customer
from apps.customers.services import effective_limit
from apps.request_logs.models import RequestLog

MAX_ROWS = 25


@dataclass(frozen=True, slots=True)
class CustomerLimit:
    customer_id: int
    name: str
    limit: int  # req/s per token, unless a token overrides it
    token_overrides: list[int] = field(default_factory=list)
    last_minute: int = 0
    rate_limited: int = 0

    @property
    def usage(self) -> float:
        return self.last_minute / (60 * self.limit) if self.limit else 0.0


def customer_limits(*, now: datetime) -> list[CustomerLimit]:
    activity = _last_minute(now)
    overrides = _token_overrides()
    customers = Customer.objects.filter(
        Q(pk__in=list(activity)) | Q(pk__in=list(overrides)) | Q(requests_per_second__isnull=False), is_active=True
    )
    rows = [
        CustomerLimit(
            customer_id=customer.pk,
            name=customer.name,
            limit=effective_limit(token=None, customer=customer),
            token_overrides=sorted(overrides.get(customer.pk, [])),
            last_minute=activity.get(customer.pk, (0, 0))[0],
            rate_limited=activity.get(customer.pk, (0, 0))[1],
        )
        for customer in customers
    ]
    return sorted(rows, key=lambda row: (-row.last_minute, row.name))[:MAX_ROWS]


def _last_minute(now: datetime) -> dict[int, tuple[int, int]]:
    rows = (
        RequestLog.objects.filter(created_at__gte=now - timedelta(minutes=1), customer__isnull=False)
        .values("customer_id")
        .annotate(requests=Sum("count"), limited=Sum("count", filter=Q(status=429)))
    )
    return {row["customer_id"]: (row["requests"], row["limited"] or 0) for row in rows}


def _token_overrides() -> dict[int, list[int]]:
    overrides: dict[int, list[int]] = defaultdict(list)
    tokens = ApiToken.objects.filter(revoked_at__isnull=True, requests_per_second__isnull=False)
    for customer_id, limit in tokens.values_list("customer_id", "requests_per_second"):
        if limit:  # never None (filtered), and 0 means "inherit" (see effective_limit)
            overrides[customer_id].append(limit)
    return overrides
