"""The test suite: the embedded default, or PostgreSQL + Redis when DATABASE_URL/REDIS_URL are set."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A file, not memory, so that servers started by live tests see what the test wrote; one per
# test run, so that two runs in one checkout do not delete each other's database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    # A live server writes that file (its request log) while a test writes its next fixtures. SQLite
    # fails a transaction that read and then wants to write while another connection is writing
    # ("database is locked", at once: waiting could deadlock); one that takes the write lock as it
    # begins simply waits its turn.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
REQUEST_LOG_FLUSH_SECONDS = 0.05
# Tests that need a batch worker start one themselves (tests/batches/workers.py).
BATCH_EMBEDDED_WORKER = os.environ.get("BATCH_EMBEDDED_WORKER", "0") == "1"
