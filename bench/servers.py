"""uvicorn subprocesses on free loopback ports: start, wait until they answer, stop by PID.

Each server runs in its own session, so its worker processes form one process group whose id is
the PID we started; a server that ignores SIGTERM is killed through that group and nothing else.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerSpec:
    name: str
    app: str  # "module:attribute"
    env: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1
    ready_path: str = "/"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def http_get(port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 5) -> HttpAnswer:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return HttpAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, spec: ServerSpec, log_dir: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.log_path = log_dir / f"{spec.name}-w{spec.workers}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "uvicorn", self.spec.app, "--host", HOST, "--port", str(self.port),
            "--workers", str(self.spec.workers), "--no-access-log", "--log-level", "warning",
            "--http", "apps.core.uvicorn_protocol:HttpProtocol",  # as deployed (docs/deploy.md)
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env={**self.spec.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout_s: float) -> None:
        """Any HTTP answer below 500 means the app is loaded (an API path may answer 401)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"server {self.spec.name} exited early:\n{self._log_tail()}")
            try:
                if http_get(self.port, self.spec.ready_path, timeout=2).status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server {self.spec.name} not ready after {timeout_s:.0f} s:\n{self._log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # uvicorn stops its workers and runs lifespan shutdown
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its workers. Per request, it is a measure that
        other load on a shared machine disturbs far less than throughput does."""
        return process_tree_cpu_seconds(self.process.pid) if self.process is not None else 0.0

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else "(no log)"


@contextmanager
def running(specs: list[ServerSpec], log_dir: Path, ready_timeout_s: float = 90) -> Iterator[dict[str, Server]]:
    """Start every server at once (they load in parallel), yield them by name once all answer."""
    servers = {spec.name: Server(spec, log_dir) for spec in specs}
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_ready(ready_timeout_s)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def process_tree_cpu_seconds(pid: int) -> float:
    """user + system time of `pid` and its direct children (uvicorn's workers), from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # a process that ended while we looked
            continue
        # After the command name: state, ppid, ... utime is field 14 of stat(5), stime 15.
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def batch_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One `manage.py db_worker`, as production runs it; stopped by PID (SIGTERM, then SIGKILL)."""
    command = [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.1", "--no-reload"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
