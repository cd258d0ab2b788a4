"""Step 8 of the exchange: what one request leaves behind. One request-log row (or one count in a
noise bucket), the Prometheus counters, and the token's last-used mark. No I/O: the row is
buffered and written by the request-log writer's thread."""

from __future__ import annotations

import time

from apps.backends.base import Usage
from apps.core.errors import ApiError
from apps.customers.last_used import last_used
from apps.operations.metrics import metrics_observe
from apps.request_logs.recorder import request_log_record

from .facts import RequestFacts


def log_request(
    facts: RequestFacts,
    *,
    status: int,
    error: ApiError | None = None,
    replayed: bool = False,
    usage: Usage | None = None,
) -> None:
    principal = facts.principal
    if principal is not None:
        last_used.seen(principal.token_id)
    row = {
        "request_id": facts.request_id,
        "customer_id": principal.customer_id if principal else None,
        "token_prefix": _storable(principal.token_prefix if principal else facts.presented_prefix),
        "method": facts.method,
        "path": _storable(facts.path),
        "status": status,
        "error_code": error.code if error is not None else "",
        "latency_ms": round((time.perf_counter() - facts.started_at) * 1000, 3),
        "model": facts.model,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "stream": facts.stream,
        "idempotency_key": _storable(facts.idempotency_key),
        "replayed": replayed,
        "client_ip": facts.client_ip if facts.client_ip != "unknown" else None,
        "user_agent": _storable(facts.user_agent),
    }
    metrics_observe(row)
    request_log_record(row)


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and `/v1/x%00y` puts one in the path: one such row would
    # fail every batch insert of the request log, so no row would ever be written again.
    return text.replace("\x00", "\ufffd")
