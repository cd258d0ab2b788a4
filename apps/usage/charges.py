"""A charge is what one execution costs. The pipeline commits it (`record`) in the transaction
that completes the request, together with its idempotency key, or not at all."""

from __future__ import annotations

from dataclasses import dataclass, replace

from apps.backends.base import Usage

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

    def record(self, *, request_id: str) -> None:
        """Persist this charge. Call inside the transaction that completes the request."""
        usage_record(charge=self, request_id=request_id)


def usage_record(*, charge: Charge, request_id: str) -> UsageRecord:
    return UsageRecord.objects.create(
        customer_id=charge.customer_id,
        token_id=charge.token_id,
        model=charge.model,
        endpoint=charge.endpoint,
        prompt_tokens=charge.usage.prompt_tokens,
        completion_tokens=charge.usage.completion_tokens,
        request_id=request_id,
    )
