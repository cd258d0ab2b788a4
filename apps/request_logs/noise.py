"""Scanner noise: rejected requests without a valid token are aggregated, not logged one by one.

A 401 or 429 for a caller with no valid token says nothing about a customer; what an operator
needs is who knocked, where, how often. So such requests are counted per (client IP, path,
status, error code, minute) and written as one row with `count` = how many, when the minute has
closed. Memory and rows stay bounded whatever a scanner sends: past `max_buckets` open buckets in
a minute, further noise is counted into one overflow bucket (path and IP "*"), per status.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

NOISE_STATUSES = frozenset({401, 429})
OVERFLOW = "*"

BucketKey = tuple[str, str, int, str, datetime]  # ip, path, status, error code, minute


def is_noise(row: dict[str, Any]) -> bool:
    return row.get("customer_id") is None and row["status"] in NOISE_STATUSES


@dataclass(slots=True)
class _Bucket:
    row: dict[str, Any]  # the first request's row: its request id stays searchable
    count: int = 1
    latency_total: float = 0.0

    def as_row(self) -> dict[str, Any]:
        return {**self.row, "count": self.count, "latency_ms": round(self.latency_total / self.count, 3)}


class NoiseAggregator:
    def __init__(self, *, max_buckets: int) -> None:
        self._buckets: dict[BucketKey, _Bucket] = {}
        self._lock = threading.Lock()
        self._max_buckets = max_buckets

    def add(self, row: dict[str, Any]) -> None:
        key = _key(row)
        with self._lock:
            if key not in self._buckets and len(self._buckets) >= self._max_buckets:
                key = (OVERFLOW, OVERFLOW, key[2], key[3], key[4])
                row = {**row, "client_ip": None, "path": OVERFLOW, "user_agent": "", "token_prefix": ""}
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(row=row)
            else:
                bucket.count += 1
            bucket.latency_total += row["latency_ms"]

    def drain(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Rows of the buckets whose minute has closed before `now`; every bucket when `now` is None."""
        with self._lock:
            closed = [key for key in self._buckets if now is None or key[4] + timedelta(minutes=1) <= now]
            return [self._buckets.pop(key).as_row() for key in closed]

    @property
    def open_buckets(self) -> int:
        return len(self._buckets)


def _key(row: dict[str, Any]) -> BucketKey:
    minute = row["created_at"].replace(second=0, microsecond=0)
    return (row.get("client_ip") or "", row["path"], row["status"], row.get("error_code", ""), minute)
