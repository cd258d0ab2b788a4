"""Ways to run the batch workers in tests: in this process until the queue is empty, or as a real
`manage.py db_worker` process on the test database (stopped, or killed, by PID)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections
from django_tasks_db.management.commands.db_worker import Worker

from apps.batches.models import BatchJob
from tests.support.live_server import ROOT, test_database_url


def drain_tasks() -> None:
    """Run every ready task in this process (the library's worker in batch mode), then return.
    Deferred tasks (the watchdog) are not due yet and stay queued."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="pytest",
        excluded_queue_names=[],
    ).run()


@contextmanager
def draining_in_background() -> Iterator[None]:
    """`drain_tasks()` on a thread while the block runs; joined (bounded) when it ends."""

    def drain() -> None:
        try:
            drain_tasks()
        finally:
            connections.close_all()  # this thread's own connection: the test database is dropped later

    thread = threading.Thread(target=drain, name="drain-tasks")
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=30)
        assert not thread.is_alive(), "the in-process worker did not finish in 30 s"


def worker_command() -> list[str]:
    return [
        sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.1",
        "--no-reload", "--no-startup-delay", "--verbosity", "0",
    ]  # fmt: skip


def worker_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],  # as pytest-django set it
        "DATABASE_URL": test_database_url(),
        **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
        **extra,
    }


@contextmanager
def worker_process(**env: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(worker_command(), cwd=ROOT, env=worker_env(**env), start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def batch_row(public_id: str) -> BatchJob:
    return BatchJob.objects.get(public_id=public_id)
