from __future__ import annotations

from datetime import datetime

from apps.customers.services import IssuedToken, customer_get_or_create, token_create


def make_token(
    *,
    customer: str = "acme",
    customer_rate: int | None = None,
    rate: int | None = None,
    expires_at: datetime | None = None,
    name: str = "test",
) -> IssuedToken:
    return token_create(
        customer=customer_get_or_create(name=customer, requests_per_second=customer_rate),
        name=name,
        requests_per_second=rate,
        expires_at=expires_at,
    )
