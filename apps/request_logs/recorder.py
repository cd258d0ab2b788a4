"""One request-log row per request: the pipeline's last step calls `request_log_record`; the row
is buffered (or counted in a noise bucket, see `noise.py`) and written off the hot path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from .writer import request_log_writer

USER_AGENT_MAX = 256
PATH_MAX = 255


def request_log_record(row: dict[str, Any]) -> None:
    if not settings.REQUEST_LOG_ENABLED:
        return
    row["path"] = row["path"][:PATH_MAX]
    row["user_agent"] = row.get("user_agent", "")[:USER_AGENT_MAX]
    row.setdefault("created_at", datetime.now(UTC))
    request_log_writer.record(row)
