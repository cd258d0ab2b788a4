"""What one request leaves behind; the pipeline calls `request_log_record` last, for every
`/v1/` request: Prometheus counters, then a buffered request-log row (or a count in a noise
bucket, see `noise.py`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from .metrics import metrics_observe
from .writer import request_log_writer

USER_AGENT_MAX = 256
PATH_MAX = 255


class LastUsedTracker:
    """`last_used_at` is written at most once a minute per token and process (NetBox's habit)."""

    def __init__(self) -> None:
        self._written_at: dict[int, float] = {}

    def seen(self, token_id: int) -> None:
        now = time.monotonic()
        if now - self._written_at.get(token_id, -1e9) >= settings.TOKEN_LAST_USED_WRITE_SECONDS:
            self._written_at[token_id] = now
            request_log_writer.touch_token(token_id)


last_used = LastUsedTracker()


def request_log_record(**row: Any) -> None:
    metrics_observe(row)
    if not settings.REQUEST_LOG_ENABLED:
        return
    row["path"] = row["path"][:PATH_MAX]
    row["user_agent"] = row.get("user_agent", "")[:USER_AGENT_MAX]
    row.setdefault("created_at", datetime.now(UTC))
    request_log_writer.record(row)
