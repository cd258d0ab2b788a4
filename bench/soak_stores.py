"""The soak's own stores: a scratch PostgreSQL database (created, dropped) and a redis-server of its
own on a free loopback port (started, killed by PID). The machine's shared services are only used
as the PostgreSQL server that hosts the scratch database."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("SOAK_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SETTINGS = "inference_platform.settings.production"
INHERITED_STORE_VARS = ("DATABASE_URL", "REDIS_URL", "VAR_DIR", "DJANGO_SETTINGS_MODULE", "ENGINE_RUNTIME_DIR")


@dataclass(frozen=True)
class Stores:
    database_url: str
    redis_url: str
    env: dict[str, str]  # every Django process of the soak runs with this
    tokens: dict[str, str]  # scenario name -> secret
    limits: dict[str, int]  # scenario name -> requests per second
    redis: RedisServer


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"soak_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisServer:
    """The soak's own redis-server; the cache-outage phase kills it (SIGKILL) and starts it again on
    the same port."""

    def __init__(self) -> None:
        from bench.servers import free_port

        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        command = [
            shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def django_env(*, database_url: str, redis_url: str, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_STORE_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        SECRET_KEY="soak-only-key-not-a-secret-" + secrets.token_hex(8),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        VAR_DIR=str(scratch / "var"),
        ENGINE_RUNTIME_DIR=str(scratch / "engine"),
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    return env


def seed(env: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
    """Migrate and create the soak's customers, tokens and models (bench/soak_seed.py)."""
    command = [sys.executable, "-m", "bench.soak_seed"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the soak store failed:\n{done.stderr[-3000:]}")
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    return seeded["tokens"], seeded["limits"]


@contextmanager
def soak_stores(scratch: Path) -> Iterator[Stores]:
    with postgres_database() as database_url, redis_server() as redis:
        env = django_env(database_url=database_url, redis_url=redis.url, scratch=scratch)
        tokens, limits = seed(env)
        yield Stores(database_url, redis.url, env, tokens, limits, redis)
