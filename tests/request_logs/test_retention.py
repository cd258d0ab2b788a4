"""`manage.py prune_request_logs`: rows older than N days go, in primary-key batches; newer stay."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.request_logs.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)


def _make(age_days: float, request_id: str) -> RequestLog:
    return RequestLog(
        request_id=request_id,
        created_at=timezone.now() - timedelta(days=age_days),
        method="GET",
        path="/v1/models",
        status=200,
        latency_ms=1.0,
    )


def _seed(ages: dict[str, float]) -> None:
    RequestLog.objects.bulk_create([_make(age, request_id) for request_id, age in ages.items()])


def _remaining() -> set[str]:
    return set(RequestLog.objects.values_list("request_id", flat=True))


def test_rows_older_than_the_given_days_are_deleted_in_batches():
    _seed({"old_1": 40, "old_2": 31, "new_1": 29, "old_3": 90, "new_2": 0.1, "new_3": 0})
    out = StringIO()

    with CaptureQueriesContext(connection) as queries:
        call_command("prune_request_logs", days=30, batch_size=2, stdout=out)

    assert _remaining() == {"new_1", "new_2", "new_3"}
    assert "Deleted 3 request-log rows" in out.getvalue()
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) >= 2  # several short statements, each bounded by an id range
    assert all('"id" >= ' in sql and '"id" < ' in sql for sql in deletes)


def test_the_default_comes_from_the_retention_setting(settings):
    settings.REQUEST_LOG_RETENTION_DAYS = 7
    _seed({"week_old": 8, "recent": 6})

    call_command("prune_request_logs", stdout=StringIO())

    assert _remaining() == {"recent"}


def test_without_the_setting_thirty_days_are_kept(settings):
    del settings.REQUEST_LOG_RETENTION_DAYS
    _seed({"month_old": 31, "recent": 29})

    call_command("prune_request_logs", stdout=StringIO())

    assert _remaining() == {"recent"}


def test_a_row_newer_than_the_cutoff_survives_even_inside_the_id_range():
    _seed({"old_1": 40, "late_but_new": 1, "old_2": 35})  # ids out of time order, as noise rows are

    call_command("prune_request_logs", days=30, batch_size=100, stdout=StringIO())

    assert _remaining() == {"late_but_new"}


def test_nothing_to_delete_is_fine():
    _seed({"recent": 1})
    out = StringIO()

    call_command("prune_request_logs", days=30, stdout=out)

    assert "Deleted 0 request-log rows" in out.getvalue()


def test_days_must_be_positive():
    with pytest.raises(CommandError):
        call_command("prune_request_logs", days=0, stdout=StringIO())
