"""The embedded default's batch worker (ADR 0005): the server process starts `manage.py db_worker`
as its child at ASGI startup and stops it at shutdown, so `make run` (or a bare `uvicorn`) processes
batches with nothing else to start. Production turns this off and runs `db_worker` on its own
machines (docs/batches.md).

The child gets its own session, so a Ctrl-C in the terminal reaches it once, through `stop()`
(SIGTERM: it finishes its current slice, then exits), not twice (which would kill it at once). If
the server dies without stopping it (SIGKILL), the kernel sends it that SIGTERM (`parent_death`).
Of several server processes on one machine (`uvicorn --workers N`), the first to take a lock file
starts the worker; one worker per machine is plenty for the embedded default.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
from typing import IO

from django.conf import settings

from apps.core.parent_death import with_parent_death_signal

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0  # then SIGKILL: safe, a killed slice's items are re-claimed after their lease


class EmbeddedWorker:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    def start(self) -> None:
        if not settings.BATCH_EMBEDDED_WORKER or self.process is not None or not self._take_lock():
            return
        command = [
            sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--queue-name", "*",
            "--interval", "0.5", "--no-reload", "--no-startup-delay", "--verbosity", "0",
        ]  # fmt: skip
        # Its own session (one Ctrl-C, through stop()), and SIGTERM from the kernel if the server
        # dies without calling stop() (a SIGKILL): no orphan worker.
        self.process = subprocess.Popen(
            with_parent_death_signal(command), cwd=settings.BASE_DIR, start_new_session=True
        )
        logger.info("embedded batch worker started, pid %s", self.process.pid)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def _take_lock(self) -> bool:
        lock = (settings.VAR_DIR / "batch-worker.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return False
        with contextlib.suppress(OSError):
            lock.write(str(os.getpid()))
            lock.flush()
        self._lock = lock
        return True


embedded_worker = EmbeddedWorker()
