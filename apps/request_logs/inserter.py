"""Bulk insert of request-log rows without building model instances (apps/core/prepared_insert.py):
at hundreds of rows a second, `bulk_create` building a `RequestLog` per row and compiling the
INSERT each time competed with the requests themselves for the GIL."""

from __future__ import annotations

from apps.core.prepared_insert import PreparedInsert

from .models import RequestLog

request_log_inserter = PreparedInsert(RequestLog)
