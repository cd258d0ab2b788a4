"""The test suite: the embedded default, or PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A file, not memory, so that servers started by live tests see what the test wrote; one per
# test run, so that two runs in one checkout do not delete each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    # Live servers write that file (their request log) while a test writes its fixtures: base.py's
    # IMMEDIATE transactions make each wait its turn instead of failing "database is locked".
REQUEST_LOG_FLUSH_SECONDS = 0.05
# Tests that need a batch worker start one themselves (tests/batches/workers.py).
BATCH_EMBEDDED_WORKER = os.environ.get("BATCH_EMBEDDED_WORKER", "0") == "1"
