"""Traffic over the last hour or day, for the operator's dashboard: requests, errors and latency
per time bucket, and the busiest customers.

Each figure is one GROUP BY over a bounded time range, which the `reqlog_recent` index serves, so
its cost follows the traffic in the window, not the size of the table. Latency percentiles come
from a histogram (`latency_histogram.py`) over requests with a valid token: fast rejections of
scanners would otherwise flatter them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncHour, TruncMinute

from apps.customers.models import Customer
from apps.request_logs.models import RequestLog

from .latency_histogram import LATENCY_BOUNDS_MS, Tally, latency_percentile, latency_slot

TOP_CUSTOMERS = 10


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    span: timedelta
    bucket: timedelta

    @property
    def buckets(self) -> int:
        return int(self.span / self.bucket)


WINDOWS = {
    "hour": Window(name="hour", span=timedelta(hours=1), bucket=timedelta(minutes=1)),
    "day": Window(name="day", span=timedelta(days=1), bucket=timedelta(hours=1)),
}


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    timed: int = 0  # requests with a valid token: the latency population
    under: tuple[int, ...] = (0,) * len(LATENCY_BOUNDS_MS)  # of those, how many took <= each bound

    def latency_ms(self, quantile: float) -> float | None:
        return latency_percentile(self.under, self.timed, quantile)


@dataclass(frozen=True, slots=True)
class CustomerActivity:
    customer_id: int
    name: str
    requests: int
    server_errors: int
    rate_limited: int


@dataclass(frozen=True, slots=True)
class Traffic:
    window: Window
    buckets: list[Bucket]
    top_customers: list[CustomerActivity]

    @property
    def requests(self) -> int:
        return sum(bucket.requests for bucket in self.buckets)

    @property
    def per_minute(self) -> float:
        return self.requests / (self.window.span.total_seconds() / 60)

    @property
    def server_error_rate(self) -> float:
        return self.share("server_errors")

    @property
    def client_error_rate(self) -> float:
        return self.share("client_errors")

    @property
    def p50_ms(self) -> float | None:
        return self.latency_ms(0.5)

    @property
    def p95_ms(self) -> float | None:
        return self.latency_ms(0.95)

    def share(self, field: str) -> float:
        return sum(getattr(bucket, field) for bucket in self.buckets) / self.requests if self.requests else 0.0

    def latency_ms(self, quantile: float) -> float | None:
        under = tuple(sum(column) for column in zip(*(b.under for b in self.buckets), strict=True))
        return latency_percentile(under, sum(b.timed for b in self.buckets), quantile)


def traffic_summary(*, window: Window, now: datetime) -> Traffic:
    since = _floor(now, window.bucket) - window.bucket * (window.buckets - 1)
    recent = RequestLog.objects.filter(created_at__gte=since, created_at__lte=now)
    return Traffic(window=window, buckets=_buckets(recent, window, since), top_customers=_top_customers(recent))


def _buckets(recent: QuerySet[RequestLog], window: Window, since: datetime) -> list[Bucket]:
    """One GROUP BY (time bucket, status class, latency slot, has a token) with one SUM per
    group: cheaper per row than a dozen filtered sums, and the groups are few (<= 60 x 3 x 14 x 2)."""
    trunc = TruncMinute if window.bucket == timedelta(minutes=1) else TruncHour
    rows = (
        recent.annotate(start=trunc("created_at"), slot=latency_slot(), timed=_has_token())
        .values("start", "status_class", "slot", "timed")
        .annotate(requests=Sum("count"))
        .order_by()  # no ORDER BY: PostgreSQL hashes the groups instead of sorting every row
    )
    tallies: dict[datetime, Tally] = defaultdict(Tally)
    for row in rows:
        tallies[row["start"]].add(row)
    starts = (since + window.bucket * i for i in range(window.buckets))
    return [_bucket(start, tallies[start]) if start in tallies else Bucket(start=start) for start in starts]


def _bucket(start: datetime, tally: Tally) -> Bucket:
    return Bucket(
        start=start,
        requests=tally.requests,
        client_errors=tally.client_errors,
        server_errors=tally.server_errors,
        timed=tally.timed,
        under=tally.under,
    )


def _has_token() -> Case:
    return Case(When(customer__isnull=False, then=Value(1)), default=Value(0), output_field=IntegerField())


def _top_customers(recent: QuerySet[RequestLog]) -> list[CustomerActivity]:
    rows = list(
        recent.filter(customer__isnull=False)
        .values("customer_id")
        .annotate(
            requests=Sum("count"),
            server_errors=Sum("count", filter=Q(status_class=5)),
            rate_limited=Sum("count", filter=Q(status=429)),
        )
        .order_by("-requests")[:TOP_CUSTOMERS]
    )
    names = dict(Customer.objects.filter(pk__in=[row["customer_id"] for row in rows]).values_list("pk", "name"))
    return [
        CustomerActivity(
            customer_id=row["customer_id"],
            name=names.get(row["customer_id"], f"#{row['customer_id']}"),
            requests=row["requests"],
            server_errors=row["server_errors"] or 0,
            rate_limited=row["rate_limited"] or 0,
        )
        for row in rows
    ]


def _floor(moment: datetime, step: timedelta) -> datetime:
    if step >= timedelta(hours=1):
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(second=0, microsecond=0)
