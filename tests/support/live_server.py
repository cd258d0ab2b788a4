"""Real uvicorn processes on loopback for tests that need them (several workers, disconnects).

The server uses the test database (a file for SQLite, the test database for PostgreSQL), so rows
a `transactional_db` test commits are visible to it. Every process is stopped by PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import connection

from apps.core.uvicorn_protocol import PROTOCOL

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database this test run uses (the test database, not the configured one)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    user = quote(db.get("USER") or "postgres")
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class ServerUrl(str):
    """The base URL, and the PID of the server's (master) process for tests that signal it."""

    pid: int


def server_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server on the test database (and the test Redis, if any)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "inference_platform.settings.test",
        "DATABASE_URL": test_database_url(),
        "PYTHONUNBUFFERED": "1",
        **({"REDIS_URL": settings.REDIS_URL} if settings.REDIS_URL else {}),
        **(env or {}),
    }


@contextmanager
def live_server(
    *, workers: int = 1, env: dict[str, str] | None = None, timeout: float = 30, log_path: Path | None = None
) -> Iterator[ServerUrl]:
    """The server's base URL; its output goes to `log_path` when given (kept as a test artifact)."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "inference_platform.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning", "--http", PROTOCOL,
    ]  # fmt: skip
    with server_process(command, port=port, env=server_env(env), timeout=timeout, log_path=log_path) as base:
        yield base


@contextmanager
def server_process(
    command: list[str], *, port: int, env: dict[str, str], timeout: float = 30, log_path: Path | None = None
) -> Iterator[ServerUrl]:
    """Runs `command` (a server that will listen on 127.0.0.1:`port`) until the block ends."""
    log = log_path.open("wb") if log_path is not None else None
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT if log else None
    )
    base = ServerUrl(f"http://127.0.0.1:{port}")
    base.pid = process.pid
    try:
        _wait_ready(base, process, timeout)
        yield base
    finally:
        _stop(process)  # SIGTERM first: a graceful shutdown, so the request-log writer flushes
        if log is not None:
            log.close()


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            # Liveness: no request-log row, so no write of the server races the test's first writes
            # (SQLite answers a transaction that has to wait for another writer "database is locked").
            httpx.get(f"{base}/health/live", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the group: uvicorn's worker processes too
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
