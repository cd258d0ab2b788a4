"""A charge is what one execution costs. The pipeline commits it (`record`) in the transaction
that completes the request, together with its idempotency key, or not at all."""

from __future__ import annotations

from dataclasses import dataclass, replace

from apps.backends.base import Usage
from apps.core.prepared_insert import PreparedInsert

from .models import UsageRecord


@dataclass(frozen=True, slots=True)
class Charge:
    customer_id: int
    token_id: int | None
    model: str
    endpoint: str
    usage: Usage

    def with_usage(self, usage: Usage) -> Charge:
        """A stream's charge is known only at its end (or at its cancellation)."""
        return replace(self, usage=usage)

    def record(self, *, request_id: str) -> bool:
        """Persist this charge. Call inside the transaction that completes the request. False: this
        request id was charged already (by an earlier commit of the same work)."""
        return usage_record(charge=self, request_id=request_id)


# One statement, built once: a usage row is written for every request (docs/benchmarks.md, "Proxy").
_usage_insert = PreparedInsert(UsageRecord, unless_exists="request_id")


def usage_record(*, charge: Charge, request_id: str) -> bool:
    return _usage_insert.insert_one(
        {
            "customer_id": charge.customer_id,
            "token_id": charge.token_id,
            "model": charge.model,
            "endpoint": charge.endpoint,
            "prompt_tokens": charge.usage.prompt_tokens,
            "completion_tokens": charge.usage.completion_tokens,
            "request_id": request_id,
        }
    )
