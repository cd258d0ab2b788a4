"""Writing the test database while a live server writes it too.

On SQLite, a transaction that read before it writes gets "database is locked" at once, without
waiting, when another process writes at that moment (SQLite's deadlock avoidance). The servers of
these tests write request-log rows in the background, so a test's own setup retries, briefly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import OperationalError

# The production flush interval instead of the test settings' 0.05 s: fewer background writes.
QUIET_LOG_WRITER = {"REQUEST_LOG_FLUSH_SECONDS": "0.5"}
ATTEMPTS = 5


def while_sqlite_is_busy[T](write: Callable[[], T]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return write()
        except OperationalError as error:
            if "locked" not in str(error) or attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")
