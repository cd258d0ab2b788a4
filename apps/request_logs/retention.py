"""Request-log retention: delete rows older than a cut-off in short primary-key ranges.

One DELETE over millions of rows would hold its locks and bloat one transaction for minutes;
each range here is its own short transaction, so writers and the admin never wait long.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import Max, Min

from .models import RequestLog

DEFAULT_BATCH_SIZE = 5_000


def request_logs_prune(
    *, older_than: datetime, batch_size: int = DEFAULT_BATCH_SIZE, progress: Callable[[int], None] | None = None
) -> int:
    """Delete rows created before `older_than`; returns how many were deleted."""
    bounds = _id_bounds(older_than)
    if bounds is None:
        return 0
    low, high = bounds
    deleted = 0
    for start in range(low, high + 1, batch_size):
        # created_at is checked again: ids are only roughly in time order (noise rows are written
        # when their minute closes), and a row newer than the cut-off inside the range must stay.
        batch = RequestLog.objects.filter(pk__gte=start, pk__lt=start + batch_size, created_at__lt=older_than)
        count, _ = batch.delete()
        deleted += count
        if progress is not None:
            progress(deleted)
    return deleted


def _id_bounds(older_than: datetime) -> tuple[int, int] | None:
    """The id range holding the old rows. One aggregate over the old end of `reqlog_recent`
    (created_at, id), which PostgreSQL answers from the index alone; after the first run that
    is about a day of rows."""
    bounds = RequestLog.objects.filter(created_at__lt=older_than).aggregate(low=Min("id"), high=Max("id"))
    return None if bounds["low"] is None else (bounds["low"], bounds["high"])
