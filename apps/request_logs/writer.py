"""Request-log rows are written off the hot path: the request appends to a bounded in-memory
buffer, a background thread bulk-inserts it every REQUEST_LOG_FLUSH_SECONDS.

A database outage does not fail API requests: rows stay buffered and are retried; only past
REQUEST_LOG_MAX_BUFFER are the oldest dropped, counted (`dropped`, also a Prometheus gauge) and
warned about. A row the database refuses for its content would be refused on every retry and
stop all logging, so a batch refused that way is written row by row instead, and only the rows
refused alone are dropped (`rejected`, also a gauge). `stop()` flushes everything, open noise
buckets included, and the ASGI lifespan calls it on a graceful shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections
from django.utils import timezone

from apps.customers.last_used import last_used

from .noise import NoiseAggregator, is_noise

logger = logging.getLogger(__name__)

DROP_WARNING_EVERY = 1000
# What a refused row (not an unavailable database) raises: the database's data errors, or a
# field's own conversion of the value.
ROW_ERRORS = (DataError, IntegrityError, ValueError, TypeError)


class RequestLogWriter:
    def __init__(self, *, max_buffer: int, batch_size: int, noise: NoiseAggregator) -> None:
        self._rows: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._max_buffer = max_buffer
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.noise = noise
        self.dropped = 0
        self.rejected = 0

    def record(self, row: dict[str, Any]) -> None:
        if is_noise(row):
            self.noise.add(row)
            return
        with self._lock:
            self._rows.append(row)
            self._trim()

    def discard(self) -> None:
        """Forget everything buffered (tests start each case from an empty buffer)."""
        with self._lock:
            self._rows.clear()
        self.noise.drain()
        last_used.discard()

    @property
    def pending(self) -> int:
        return len(self._rows)

    def flush(self, *, everything: bool = False) -> int:
        """Write what is buffered; returns the number of rows written. Safe from any thread.

        Noise buckets are written once their minute has closed, or all of them with `everything`.
        """
        with self._flush_lock:
            self._enqueue(self.noise.drain(now=None if everything else timezone.now()))
            written = self._write_rows()
            last_used.flush()  # the tokens' `last_used_at` marks ride on this thread too
            return written

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush(everything=True)

    def _run(self) -> None:
        while not self._stop.wait(settings.REQUEST_LOG_FLUSH_SECONDS):
            try:
                self.flush()
            except Exception:  # the thread must survive anything: a lost writer loses every row
                logger.exception("request log flush failed")
            finally:
                close_old_connections()

    def _enqueue(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self._lock:
                self._rows.extend(rows)
                self._trim()

    def _trim(self) -> None:
        """Drop the oldest rows past the bound. The caller holds `_lock`."""
        while len(self._rows) > self._max_buffer:
            self._rows.popleft()
            self.dropped += 1
            if self.dropped % DROP_WARNING_EVERY == 1:
                logger.warning("request log buffer full: %d rows dropped so far", self.dropped)

    def _write_rows(self) -> int:
        from .inserter import request_log_inserter

        written = 0
        while True:
            with self._lock:
                batch = [self._rows.popleft() for _ in range(min(self._batch_size, len(self._rows)))]
            if not batch:
                return written
            try:
                request_log_inserter.insert_many(batch)
                written += len(batch)
                continue
            except ROW_ERRORS:
                pass  # some row in it is refused: find it below
            except Exception:
                self._keep_for_retry(batch)
                return written
            for index, row in enumerate(batch):
                try:
                    request_log_inserter.insert_many([row])
                    written += 1
                except ROW_ERRORS:
                    self.rejected += 1
                    logger.warning("request log: row %s refused by the database, dropped", row.get("request_id"))
                except Exception:
                    self._keep_for_retry(batch[index:])
                    return written

    def _keep_for_retry(self, batch: list[dict[str, Any]]) -> None:
        with self._lock:  # put them back, in order, for the next attempt
            self._rows.extendleft(reversed(batch))
            self._trim()
        logger.warning("request log: database unavailable, %d rows kept for retry", len(self._rows))


request_log_writer = RequestLogWriter(
    max_buffer=settings.REQUEST_LOG_MAX_BUFFER,
    batch_size=settings.REQUEST_LOG_BATCH_SIZE,
    noise=NoiseAggregator(max_buckets=getattr(settings, "REQUEST_LOG_NOISE_MAX_BUCKETS", 10_000)),
)
