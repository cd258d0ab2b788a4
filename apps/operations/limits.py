"""Every customer and token with its rate limit in effect, where that limit comes from, and the
last minute's peak, for the admin's Limits page (`limits_page.py`); and saving limits from there.

The limit in effect is the token's override, else the customer's negotiated limit, else the default
(docs/api-contract.md, "Rate limits"). Limits count requests per token and second, so the figure to
hold against a limit is a token's peak: the most requests it made in any one second of the last
minute, from the request log (rejected ones included: they show the demand). A customer's row shows
its busiest token's peak. Saving goes through the models, so the token caches of every worker are
invalidated (apps/customers/signals.py) and a change applies on the next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncSecond

from apps.customers.models import ApiToken, Customer
from apps.customers.services import effective_limit
from apps.request_logs.models import RequestLog

PEAK_WINDOW = timedelta(minutes=1)
TOKEN_OVERRIDE, NEGOTIATED, DEFAULT = "token override", "customer's negotiated limit", "default"


@dataclass(frozen=True, slots=True)
class TokenLimit:
    token_id: int
    name: str
    prefix: str
    override: int | None  # empty (or 0): inherits the customer's limit
    limit: int
    source: str
    peak: int

    @property
    def usage(self) -> float:
        return self.peak / self.limit if self.limit else 0.0


@dataclass(frozen=True, slots=True)
class CustomerLimits:
    customer_id: int
    name: str
    is_active: bool
    negotiated: int | None
    limit: int  # what its tokens without an override get
    source: str
    tokens: list[TokenLimit]

    @property
    def peak(self) -> int:
        return max((token.peak for token in self.tokens), default=0)


def customer_limits_page(*, customers: Sequence[Customer], now: datetime) -> list[CustomerLimits]:
    """The rows of these customers (one page of them) and their usable tokens, in the given order."""
    tokens = list(
        ApiToken.objects.filter(customer__in=customers, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("customer_id", "name", "pk")
    )
    peaks = peak_per_second(prefixes=[token.prefix for token in tokens], now=now)
    by_customer: dict[int, list[TokenLimit]] = {customer.pk: [] for customer in customers}
    owners = {customer.pk: customer for customer in customers}
    for token in tokens:
        customer = owners[token.customer_id]
        by_customer[customer.pk].append(
            TokenLimit(
                token_id=token.pk,
                name=token.name,
                prefix=token.prefix,
                override=token.requests_per_second or None,
                limit=effective_limit(token=token, customer=customer),
                source=TOKEN_OVERRIDE if token.requests_per_second else _customer_source(customer),
                peak=peaks.get(token.prefix, 0),
            )
        )
    return [
        CustomerLimits(
            customer_id=customer.pk,
            name=customer.name,
            is_active=customer.is_active,
            negotiated=customer.requests_per_second or None,
            limit=effective_limit(token=None, customer=customer),
            source=_customer_source(customer),
            tokens=by_customer[customer.pk],
        )
        for customer in customers
    ]


def peak_per_second(*, prefixes: Iterable[str], now: datetime) -> dict[str, int]:
    """Per token prefix: the most requests in any one second since `now` - 1 minute.

    At most 60 rows per token come back (one per second), read through the (token_prefix,
    created_at) index.
    """
    prefixes = [prefix for prefix in prefixes if prefix]
    if not prefixes:
        return {}
    seconds = (
        RequestLog.objects.filter(token_prefix__in=prefixes, created_at__gte=now - PEAK_WINDOW, created_at__lte=now)
        .annotate(second=TruncSecond("created_at"))
        .values("token_prefix", "second")
        .annotate(requests=Sum("count"))
        .order_by()
    )
    peaks: dict[str, int] = {}
    for row in seconds:
        peaks[row["token_prefix"]] = max(peaks.get(row["token_prefix"], 0), row["requests"])
    return peaks


def _customer_source(customer: Customer) -> str:
    return NEGOTIATED if customer.requests_per_second else DEFAULT


def default_limit() -> int:
    return int(settings.RATE_LIMIT_DEFAULT_PER_SECOND)


@dataclass(frozen=True, slots=True)
class LimitChanges:
    customers: Mapping[int, int | None]  # customer id -> negotiated limit (None: the default)
    tokens: Mapping[int, int | None]  # token id -> override (None: inherit)


def limits_save(changes: LimitChanges) -> list[str]:
    """Save the limits that differ from the stored ones, in one transaction; what changed, in words.

    Each save is a model save, so the token caches of every worker are invalidated on commit.
    """
    saved: list[str] = []
    with transaction.atomic():
        for customer in Customer.objects.select_for_update().filter(pk__in=list(changes.customers)):
            value = changes.customers[customer.pk]
            if (customer.requests_per_second or None) != value:
                customer.requests_per_second = value
                customer.save(update_fields=["requests_per_second"])
                saved.append(f"{customer.name}: {_described(value, 'the default')}")
        tokens = ApiToken.objects.select_for_update().select_related("customer").filter(pk__in=list(changes.tokens))
        for token in tokens:
            value = changes.tokens[token.pk]
            if (token.requests_per_second or None) != value:
                token.requests_per_second = value
                token.save(update_fields=["requests_per_second"])
                saved.append(f"{token.customer.name} / {token.name}: {_described(value, 'inherits')}")
    return saved


def _described(value: int | None, empty: str) -> str:
    return f"{value:,} req/s" if value is not None else empty
