"""Batch backlog on /metrics: what the workers still have to do. Read from the batches' own
counters (one small query each over unfinished batches), never by counting item rows."""

from __future__ import annotations

from django.db.models import Count, F, QuerySet, Sum

from .models import BatchJob


def batches_open() -> dict[tuple[str, ...], float]:
    """Unfinished batches by status (queued, running, cancelling)."""
    rows = _unfinished().values("status").annotate(n=Count("id")).order_by()
    return {(row["status"],): float(row["n"]) for row in rows}


def batch_items_waiting() -> float:
    """Items of unfinished batches that have not finished yet (pending or running)."""
    left = F("total_count") - F("completed_count") - F("failed_count") - F("cancelled_count")
    return float(_unfinished().aggregate(left=Sum(left))["left"] or 0)


def _unfinished() -> QuerySet[BatchJob]:
    return BatchJob.objects.exclude(status__in=BatchJob.TERMINAL)
