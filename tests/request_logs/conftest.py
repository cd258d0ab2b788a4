from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer


@pytest.fixture
def written_rows() -> Iterator[Callable[[], list[RequestLog]]]:
    """Flush the writer (noise buckets included) and return every row, oldest first."""

    def read() -> list[RequestLog]:
        request_log_writer.flush(everything=True)
        return list(RequestLog.objects.order_by("id"))

    yield read
    request_log_writer.stop()  # a test that started the thread leaves none behind
