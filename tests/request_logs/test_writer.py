"""The buffered writer (writer.py): off the hot path, flushed on shutdown, safe in a database outage."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync

from apps.request_logs.models import RequestLog
from apps.request_logs.noise import NoiseAggregator
from apps.request_logs.writer import RequestLogWriter, request_log_writer
from inference_platform.lifespan import Lifespan

pytestmark = pytest.mark.django_db(transaction=True)


def _row(request_id: str) -> dict:
    return {
        "request_id": request_id,
        "customer_id": None,
        "method": "GET",
        "path": "/v1/models",
        "status": 200,
        "latency_ms": 1.0,
        "created_at": datetime.now(UTC),
    }


def _database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database down")

    from apps.request_logs.inserter import request_log_inserter

    monkeypatch.setattr(request_log_inserter, "insert_many", refuse)


def _run_lifespan() -> list[str]:
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message["type"])

    async_to_sync(Lifespan())({"type": "lifespan"}, receive, send)
    return sent


def test_the_background_thread_writes_rows_without_anyone_flushing(api, token, written_rows):
    request_log_writer.start()
    request_id = api.get("/v1/models", token=token).headers["X-Request-Id"]

    deadline = time.monotonic() + 5
    while not RequestLog.objects.filter(request_id=request_id).exists():
        assert time.monotonic() < deadline, "the writer thread wrote nothing"
        time.sleep(0.02)


def test_a_graceful_shutdown_writes_what_is_buffered(api, token, settings, written_rows):
    settings.REQUEST_LOG_FLUSH_SECONDS = 3600  # only the shutdown can write them
    request_ids = [api.get("/v1/models", token=token).headers["X-Request-Id"] for _ in range(3)]
    assert RequestLog.objects.count() == 0

    sent = _run_lifespan()

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == sorted(request_ids)


def test_a_database_outage_fails_no_request_and_loses_no_row(api, token, monkeypatch, caplog):
    _database_down(monkeypatch)
    responses = [api.get("/v1/models", token=token) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert request_log_writer.flush() == 0
    assert request_log_writer.pending == 3
    assert "database unavailable, 3 rows kept for retry" in caplog.text

    monkeypatch.undo()  # the database is back
    assert request_log_writer.flush() == 3
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {
        r.headers["X-Request-Id"] for r in responses
    }


def test_past_the_bound_the_oldest_rows_are_dropped_counted_and_warned_about(transactional_db, monkeypatch, caplog):
    writer = RequestLogWriter(max_buffer=3, batch_size=2, noise=NoiseAggregator(max_buckets=10))
    _database_down(monkeypatch)
    for i in range(5):
        writer.record(_row(f"req_{i}"))
    writer.flush()

    assert (writer.pending, writer.dropped) == (3, 2)
    assert any(r.levelno == logging.WARNING and "rows dropped" in r.getMessage() for r in caplog.records)

    monkeypatch.undo()
    assert writer.flush() == 3
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_2", "req_3", "req_4"]


def test_a_row_the_database_refuses_is_dropped_alone_and_logging_goes_on(transactional_db, caplog):
    writer = RequestLogWriter(max_buffer=100, batch_size=10, noise=NoiseAggregator(max_buckets=10))
    writer.record(_row("req_before"))
    writer.record({**_row("req_refused"), "status": -1})  # the column's CHECK constraint refuses it
    writer.record(_row("req_after"))

    assert writer.flush() == 2
    assert (writer.pending, writer.rejected, writer.dropped) == (0, 1, 0)
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_after", "req_before"]
    assert "req_refused refused by the database" in caplog.text

    writer.record(_row("req_later"))
    assert writer.flush() == 1  # nothing stuck in front of the queue
