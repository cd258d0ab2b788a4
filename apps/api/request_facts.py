"""What the pipeline knows about one request, independent of its transport (HTTP, SSE, WebSocket
message): who sent it and from where. Steps 3 (count) and 10 (log) work from these facts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from rest_framework.request import Request

from apps.backends.base import Usage
from apps.core.client_ip import client_ip
from apps.core.errors import ApiError
from apps.customers.principal import Principal
from apps.customers.token_secrets import prefix_of
from apps.ratelimits.limiter import RateLimitState, anonymous_limit_key, rate_limit_consume
from apps.request_logs.recorder import last_used, request_log_record


@dataclass
class RequestFacts:
    request_id: str
    method: str
    path: str
    client_ip: str
    user_agent: str = ""
    presented_prefix: str = ""  # public prefix of a presented (maybe invalid) token, for the log
    idempotency_key: str = ""
    principal: Principal | None = None
    model: str = ""
    started_at: float = field(default_factory=time.perf_counter)


def facts_from_http(request: Request, *, request_id: str, started_at: float) -> RequestFacts:
    """Built in step 1; `principal` is filled in once authentication ran."""
    meta = request.META
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    return RequestFacts(
        request_id=request_id,
        method=request.method or "",
        path=request.path,
        client_ip=client_ip(request._request),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        presented_prefix=prefix_of(token.strip()) if scheme.lower() == "bearer" else "",
        idempotency_key=meta.get("HTTP_IDEMPOTENCY_KEY", "")[:255],
        started_at=started_at,
    )


def count_request(facts: RequestFacts, *, increment: bool = True) -> RateLimitState:
    """Step 3: per token, or per client IP without a valid token (`increment=False`: not counted,
    only the headers)."""
    if facts.principal is not None:
        key, limit = f"token:{facts.principal.token_id}", facts.principal.requests_per_second
    else:
        key, limit = anonymous_limit_key(facts.client_ip), settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    return rate_limit_consume(key=key, limit=limit, increment=increment)


def log_request(
    facts: RequestFacts,
    *,
    status: int,
    error: ApiError | None = None,
    replayed: bool = False,
    usage: Usage | None = None,
    stream: bool = False,
) -> None:
    """Step 10: one row, buffered; written off the hot path."""
    principal = facts.principal
    if principal is not None:
        last_used.seen(principal.token_id)
    request_log_record(
        request_id=facts.request_id,
        customer_id=principal.customer_id if principal else None,
        token_prefix=_storable(principal.token_prefix if principal else facts.presented_prefix),
        method=facts.method,
        path=_storable(facts.path),
        status=status,
        error_code=error.code if error is not None else "",
        latency_ms=round((time.perf_counter() - facts.started_at) * 1000, 3),
        model=facts.model,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        stream=stream,
        idempotency_key=_storable(facts.idempotency_key),
        replayed=replayed,
        client_ip=facts.client_ip if facts.client_ip != "unknown" else None,
        user_agent=_storable(facts.user_agent),
    )


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and `/v1/x%00y` puts one in the path: one such row would
    # fail every batch insert of the request log, so no row would ever be written again.
    return text.replace("\x00", "\ufffd")
