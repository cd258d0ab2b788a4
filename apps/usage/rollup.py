"""The usage records, summed per UTC day, customer and model as they accumulate (`UsageDay`).

Usage reports (`GET /v1/usage`, the admin's daily usage) read the rollup for what it holds and sum
the records after its mark themselves, in one statement (totals.py): exact to the last committed
charge, at a cost that follows the days and the traffic since the last catch-up, not the table.

`rollup_catch_up` adds the records after the mark to the rollup and moves the mark, in one
transaction that starts by locking the mark (two catch-ups never add a record twice). It stops
before the first record younger than LAG: ids are handed out before a transaction commits, so a
younger record with a smaller id may still be on its way; nothing older than LAG is. The server
runs it every ROLLUP_SECONDS (`RollupThread`, started by the ASGI lifespan); `manage.py
usage_rollup` runs it by hand.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .models import UsageDay, UsageRecord, UsageRollupMark

logger = logging.getLogger(__name__)

LAG = timedelta(seconds=60)
ROLLUP_SECONDS = 30.0
MAX_RECORDS = 200_000  # per transaction: a first catch-up over a big table goes in steps


def rollup_catch_up(*, now: datetime | None = None, max_records: int = MAX_RECORDS) -> int:
    """Roll up what is due; returns how many records were added. Safe from any process."""
    added = 0
    while (step := _catch_up_step(now=now or timezone.now(), max_records=max_records)) > 0:
        added += step
        if step < max_records:
            break
    return added


def _catch_up_step(*, now: datetime, max_records: int) -> int:
    with transaction.atomic():
        mark = _locked_mark(now)
        pending = UsageRecord.objects.filter(id__gt=mark.last_record_id)
        first_recent = pending.filter(created_at__gte=now - LAG).order_by("id").values_list("id", flat=True).first()
        due = pending if first_recent is None else pending.filter(id__lt=first_recent)
        last_id = due.order_by("id").values_list("id", flat=True)[max_records - 1 : max_records].first()
        if last_id is not None:
            due = due.filter(id__lte=last_id)
        summary = due.aggregate(last=Max("id"), records=Count("id"))
        if not summary["records"]:
            return 0
        _add(due)
        UsageRollupMark.objects.filter(pk=mark.pk).update(last_record_id=summary["last"])
        return int(summary["records"])


def _locked_mark(now: datetime) -> UsageRollupMark:
    # A write first: it takes the lock (PostgreSQL's row lock, SQLite's write lock) before the mark
    # is read, so a concurrent catch-up waits here and then reads the mark this one leaves.
    if not UsageRollupMark.objects.filter(pk=1).update(rolled_at=now):
        UsageRollupMark.objects.get_or_create(pk=1, defaults={"rolled_at": now})
    return UsageRollupMark.objects.select_for_update().get(pk=1)


def _add(records: QuerySet[UsageRecord]) -> None:
    """Add the records' sums to the rollup in ONE statement, whatever the number of days, customers
    and models: INSERT the grouped sums, adding to a row that exists (ON CONFLICT ... DO UPDATE,
    which PostgreSQL and SQLite both speak). The SELECT is Django's, so the UTC day is computed the
    way each database needs."""
    grouped = (
        records.annotate(day=TruncDate("created_at"))
        .values("day", "customer_id", "model")
        .annotate(
            n=Count("id"), prompt=Coalesce(Sum("prompt_tokens"), 0), completion=Coalesce(Sum("completion_tokens"), 0)
        )
        .order_by()
        .values_list("day", "customer_id", "model", "n", "prompt", "completion")
    )
    select, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(UsageDay._meta.db_table)
    columns = ", ".join(quote(name) for name in ("day", "customer_id", "model", *SUMS))
    key = ", ".join(quote(name) for name in ("day", "customer_id", "model"))
    added = ", ".join(f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in SUMS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select} ON CONFLICT ({key}) DO UPDATE SET {added}", params)


SUMS = ("requests", "prompt_tokens", "completion_tokens")


class RollupThread:
    """`rollup_catch_up` every ROLLUP_SECONDS on a thread of the server's own."""

    def __init__(self, *, interval: float = ROLLUP_SECONDS) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="usage-rollup", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rollup_catch_up()
            except Exception:  # a database outage: the reports sum more records until it is back
                logger.warning("usage rollup failed; retrying in %.0f s", self.interval, exc_info=True)
            finally:
                close_old_connections()


usage_rollup = RollupThread()
