"""Step 8 of the pipeline: a success's charge and its idempotency key's completion commit in ONE
transaction, so a crash before the commit leaves neither, and a retry after it replays."""

from __future__ import annotations

from django.db import transaction

from apps.idempotency.services import Claim, idempotency_complete
from apps.usage.charges import Charge, usage_record


def settle_success(
    *,
    request_id: str,
    charge: Charge | None,
    claim: Claim | None,
    status: int,
    body: bytes,
    headers: dict[str, str],
    events: list[str] | None = None,
) -> None:
    if charge is None and claim is None:
        return  # most GETs: no transaction, no database connection at all
    with transaction.atomic():
        if charge is not None:
            usage_record(charge=charge, request_id=request_id)
        if claim is not None:
            idempotency_complete(claim=claim, status=status, body=body, headers=headers, events=events)
