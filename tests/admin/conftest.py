from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.request_logs.models import RequestLog

LogFactory = Callable[..., RequestLog]
SCREENSHOTS = pytest.StashKey[str]()  # where tests/admin/test_browser.py left its screenshots


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SCREENSHOTS in config.stash:
        terminalreporter.write_line(f"admin browser test: screenshots in {config.stash[SCREENSHOTS]}")


@pytest.fixture
def log_row(transactional_db: None) -> LogFactory:
    """Create a request-log row: `log_row("req_x", status=500, minutes_ago=5, customer=...)`."""

    def create(request_id: str, *, minutes_ago: float = 1, **fields: Any) -> RequestLog:
        values: dict[str, Any] = {
            "method": "GET",
            "path": "/v1/models",
            "status": 200,
            "latency_ms": 12.0,
            "created_at": timezone.now() - timedelta(minutes=minutes_ago),
        }
        return RequestLog.objects.create(request_id=request_id, **(values | fields))

    return create
