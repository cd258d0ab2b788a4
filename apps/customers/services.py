"""Customers and tokens: create, revoke, authenticate. Views and commands call these."""

from __future__ import annotations

import secrets as std_secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.db import db_call
from apps.ratelimits.limiter import anonymous_limit_key, rate_limit_exhausted

from .models import ApiToken, Customer
from .principal import Principal
from .token_cache import Miss, token_cache
from .token_secrets import generate_secret, hash_token


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the operator once, never stored


def customer_get_or_create(*, name: str, requests_per_second: int | None = None) -> Customer:
    customer, created = Customer.objects.get_or_create(name=name, defaults={"requests_per_second": requests_per_second})
    if not created and requests_per_second is not None and customer.requests_per_second != requests_per_second:
        customer.requests_per_second = requests_per_second
        customer.save(update_fields=["requests_per_second"])
    return customer


def token_create(
    *,
    customer: Customer,
    name: str,
    expires_at: datetime | None = None,
    requests_per_second: int | None = None,
) -> IssuedToken:
    new = generate_secret()
    token = ApiToken.objects.create(
        customer=customer,
        name=name,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        expires_at=expires_at,
        requests_per_second=requests_per_second,
    )
    return IssuedToken(token=token, secret=new.token)


def token_assign_secret(*, token: ApiToken) -> str:
    """Give an unsaved token (the admin's add form) its secret; returns the secret to show once."""
    new = generate_secret()
    token.prefix, token.secret_hash = new.prefix, new.secret_hash
    return new.token


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])  # post_save invalidates every worker's cache


def tokens_revoke(*, tokens: list[ApiToken]) -> int:
    with transaction.atomic():
        for token in tokens:
            token_revoke(token=token)
    return len(tokens)


def token_authenticate(*, presented: str, client_ip: str | None = None) -> Principal | None:
    """The principal for a presented bearer token, or None if it is unknown, revoked or expired.

    With `client_ip`: once that address has spent its budget of failed attempts for this second,
    a token not already in the cache is not looked up (None), so guesses past the limit learn
    nothing, a right one included, and cost no database query. Tokens in use stay in the cache.
    """
    may_load = None if client_ip is None else partial(_guessing_allowed, client_ip)
    principal = token_cache.get(hash_token(presented), _principal_from_database, may_load=may_load)
    if principal is None or principal.is_expired(timezone.now()):
        return None
    return principal


async def token_authenticate_async(*, presented: str, client_ip: str) -> Principal | None:
    """`token_authenticate` for the event loop: a cached token costs no thread hop; only a miss
    reads the database, in a worker thread."""
    hit = token_cache.cached(hash_token(presented))
    if isinstance(hit, Miss):
        return await db_call(token_authenticate, presented=presented, client_ip=client_ip)
    if hit is None or hit.is_expired(timezone.now()):
        return None
    return hit


def _guessing_allowed(client_ip: str) -> bool:
    # The key and limit of the pipeline's count for requests without a valid token.
    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    return not rate_limit_exhausted(key=anonymous_limit_key(client_ip), limit=limit)


def _principal_from_database(secret_hash: str) -> Principal | None:
    token = (
        ApiToken.objects.select_related("customer")
        .filter(secret_hash=secret_hash, revoked_at__isnull=True, customer__is_active=True)
        .first()
    )
    # The hash was the lookup key; compare it again in constant time so no timing difference
    # depends on how much of a guess matched.
    if token is None or not std_secrets.compare_digest(token.secret_hash, secret_hash):
        return None
    return token_principal(token)


def token_principal(token: ApiToken) -> Principal:
    """What a request authenticated by `token` may do (the token loaded with its customer)."""
    allowed = frozenset(token.allowed_models.values_list("id", flat=True))
    return Principal(
        token_id=token.pk,
        token_prefix=token.prefix,
        customer_id=token.customer_id,
        customer_name=token.customer.name,
        requests_per_second=effective_limit(token=token, customer=token.customer),
        allowed_models=allowed or None,
        expires_at=token.expires_at,
    )


def effective_limit(*, token: ApiToken | None, customer: Customer | None) -> int:
    """Token override, else the customer's negotiated limit, else the default (docs/api-contract.md)."""
    if token is not None and token.requests_per_second:
        return token.requests_per_second
    if customer is not None and customer.requests_per_second:
        return customer.requests_per_second
    return settings.RATE_LIMIT_DEFAULT_PER_SECOND
