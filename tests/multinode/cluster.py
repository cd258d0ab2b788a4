"""The processes of a multi-node run: relays on the host, uvicorn nodes and fake replicas in their
namespaces. Every process is started here, in its own session, and stopped by its PID.

PostgreSQL and Redis listen on 127.0.0.1 only and are shared with other work on the machine, so
they are not reconfigured: each node gets its own pair of relays (tests/support/tcp_proxy.py) on
the bridge's host address, forwarding to 127.0.0.1. A relay per node lets a scenario cut one node
off from Redis while the other keeps it. Relays run as processes of their own: in the harness's
process they would share its GIL with the load generator and add its stalls to every query.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .topology import HOST_ADDRESS, SUBNET, Machine

ROOT = Path(__file__).resolve().parents[2]
NODE_PORT = 8000
REPLICA_PORT = 8000
METRICS_TOKEN = "multinode-metrics"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def _with_host(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class NodeSettings:
    database_url: str  # the scratch database, as seen from the host (127.0.0.1)
    redis_url: str
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)  # per-run overrides (the scenarios' settings)


@dataclass
class Node:
    machine: Machine
    settings: NodeSettings
    database_relay: Relay
    redis_relay: Relay
    work_dir: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def url(self) -> str:
        return f"http://{self.machine.address}:{NODE_PORT}"

    def environment(self) -> dict[str, str]:
        database = urlsplit(self.settings.database_url)
        redis = urlsplit(self.settings.redis_url)
        metrics_dir = self.work_dir / "metrics"
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "inference_platform.settings.production",
            "SECRET_KEY": "multinode-harness-secret-key-not-for-production-use-000000",
            "ALLOWED_HOSTS": self.machine.address,
            "DATABASE_URL": _with_host(self.settings.database_url, HOST_ADDRESS, self.database_relay.port)
            if database.hostname
            else self.settings.database_url,
            "REDIS_URL": _with_host(self.settings.redis_url, HOST_ADDRESS, self.redis_relay.port)
            if redis.hostname
            else self.settings.redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "METRICS_TOKEN": METRICS_TOKEN,
            "METRICS_ALLOWED_NETWORKS": str(SUBNET),
            "VAR_DIR": str(self.work_dir / "var"),
            "LOG_LEVEL": "WARNING",
            **self.settings.env,
        }

    def start(self) -> None:
        metrics_dir = self.work_dir / "metrics"
        for stale in metrics_dir.glob("*.db"):  # multiprocess metrics start empty (docs/operations.md)
            stale.unlink()
        metrics_dir.mkdir(parents=True, exist_ok=True)
        log = (self.work_dir / "server.log").open("ab")
        command = self.machine.command(
            [
                sys.executable, "-m", "uvicorn", "inference_platform.asgi:application",
                "--host", self.machine.address, "--port", str(NODE_PORT),
                "--workers", str(self.settings.workers), "--no-access-log", "--log-level", "warning",
                "--timeout-graceful-shutdown", "5",
            ]
        )  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.environment(), start_new_session=True, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.started_at = time.monotonic()

    def wait_ready(self) -> None:
        _wait_http(f"{self.url}/v1/openapi.json", self.process, f"node {self.name}")

    def kill(self) -> None:
        """SIGKILL the whole node (uvicorn's parent and workers): a machine lost without warning."""
        _signal_group(self.process, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """SIGTERM: a graceful shutdown, so each worker's request-log buffer is flushed."""
        _stop(self.process)

    def metrics(self) -> str:
        request = urllib.request.Request(f"{self.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Replica:
    machine: Machine
    token_delay_s: float
    tokens: int
    work_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def url(self) -> str:
        return f"http://{self.machine.address}:{REPLICA_PORT}"

    def start(self) -> None:
        log = (self.work_dir / f"replica-{self.name}.log").open("ab")
        command = self.machine.command(
            [
                sys.executable, "-m", "tests.support.fake_replica", "--host", self.machine.address,
                "--port", str(REPLICA_PORT), "--name", self.name,
                "--token-delay-s", str(self.token_delay_s), "--tokens", str(self.tokens),
            ]
        )  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT, env=_plain_env()
        )
        log.close()

    def wait_ready(self) -> None:
        _wait_http(f"{self.url}/health", self.process, f"replica {self.name}")

    def kill(self) -> None:
        _signal_group(self.process, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        _stop(self.process)

    def control(self, **changes: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control",
            data=json.dumps(changes).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=5) as response:
            return json.loads(response.read())


class Relay:
    """tests/support/tcp_proxy.py as a process on the bridge's host address; `hang`, `cut` and
    `restore` return once the relay has switched."""

    def __init__(self, *, target_port: int) -> None:
        command = [sys.executable, "-m", "tests.support.tcp_proxy", "--listen-host", HOST_ADDRESS]
        command += ["--target-port", str(target_port)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True, env=_plain_env()
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def hang(self) -> None:
        self._switch(signal.SIGUSR1, "hang")

    def cut(self) -> None:
        self._switch(signal.SIGHUP, "cut")

    def restore(self) -> None:
        self._switch(signal.SIGUSR2, "up")

    def _switch(self, signum: int, mode: str) -> None:
        assert self.process.stdout is not None
        self.process.send_signal(signum)
        answer = self.process.stdout.readline().strip()
        if answer != f"mode {mode}":
            raise RuntimeError(f"relay answered {answer!r}, expected mode {mode}")

    def stop(self) -> None:
        _stop(self.process)


class Cluster:
    """Nodes, replicas and relays; `close()` stops whatever is still running, by PID."""

    def __init__(self, *, node_machines: list[Machine], replica_machines: list[Machine], settings: NodeSettings,
                 token_delay_s: float, tokens: int) -> None:  # fmt: skip
        self.work_dir = Path(tempfile.mkdtemp(prefix="multinode-", dir=ROOT / "var"))
        self.relays: list[Relay] = []
        self.nodes = [self._node(machine, settings) for machine in node_machines]
        self.replicas = [Replica(m, token_delay_s, tokens, self.work_dir) for m in replica_machines]

    def _node(self, machine: Machine, settings: NodeSettings) -> Node:
        database_port = urlsplit(settings.database_url).port or 5432
        redis_port = urlsplit(settings.redis_url).port or 6379
        database, redis = Relay(target_port=database_port), Relay(target_port=redis_port)
        self.relays += [database, redis]
        work_dir = self.work_dir / machine.name
        work_dir.mkdir(parents=True, exist_ok=True)
        return Node(machine, settings, database, redis, work_dir)

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        for node in self.nodes:
            node.start()
        for replica in self.replicas:
            replica.wait_ready()
        for node in self.nodes:
            node.wait_ready()

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        for replica in self.replicas:
            replica.stop()
        for relay in self.relays:
            relay.stop()
        self.relays.clear()


def _plain_env() -> dict[str, str]:
    return {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ} | {"PYTHONUNBUFFERED": "1"}


def _wait_http(url: str, process: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is None or process.poll() is not None:
            raise RuntimeError(f"{what} exited before it was ready (see its log under var/multinode-*)")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready within {READY_TIMEOUT_S:.0f}s")


def _signal_group(process: subprocess.Popen[Any] | None, signum: int) -> None:
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)


def _stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=5)
