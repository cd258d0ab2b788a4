"""Scratch stores for the servers under test; the developer's `var/` and databases are never touched.

embedded    SQLite and local-memory cache in a scratch VAR_DIR (the embedded default, docs/deploy.md)
production  a PostgreSQL database created for this run and dropped after it, and Redis db 14
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SETTINGS = "inference_platform.settings.production"  # DEBUG off, as deployed
# Variables that would point a scratch server at the developer's own stores.
INHERITED_STORE_VARS = ("DATABASE_URL", "REDIS_URL", "VAR_DIR", "DJANGO_SETTINGS_MODULE")


@dataclass(frozen=True)
class Store:
    name: str
    env: dict[str, str]  # the environment of every Django process on this store
    tokens_file: Path
    body_file: Path  # the pipeline's GET /v1/models body, captured on this store
    notes: list[str] = field(default_factory=list)

    def with_env(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}


def base_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_STORE_VARS}
    env.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE=SETTINGS,
        SECRET_KEY="bench-only-key-not-a-secret-" + secrets.token_hex(8),
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    return env


def seeded(name: str, env: dict[str, str], directory: Path, tokens: int) -> Store:
    """Migrate and create tokens in a subprocess carrying the store's environment."""
    command = [sys.executable, "-m", "bench.seed", "--tokens", str(tokens), "--out", str(directory)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the {name} store failed:\n{done.stderr[-3000:]}")
    return Store(name, env, directory / "tokens.txt", directory / "models-body.json")


def embedded_store(scratch: Path, *, tokens: int) -> Store:
    directory = scratch / "embedded"
    directory.mkdir()
    return seeded("embedded", base_env(directory), directory, tokens)


@contextmanager
def production_store(scratch: Path, *, tokens: int) -> Iterator[Store | str]:
    """A seeded PostgreSQL + Redis store, or the reason there is none (services unreachable)."""
    reason = _unreachable()
    if reason:
        yield reason
        return
    import psycopg
    import redis

    database = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    cache = redis.Redis.from_url(REDIS_URL)
    notes = [] if cache.dbsize() == 0 else [f"{REDIS_URL} was not empty; left as found"]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        directory = scratch / "production"
        directory.mkdir()
        env = base_env(directory) | {"DATABASE_URL": _database_url(database), "REDIS_URL": REDIS_URL}
        store = seeded("production", env, directory, tokens)
        yield Store(store.name, store.env, store.tokens_file, store.body_file, notes)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not notes:  # it was empty before this run: leave it empty
            cache.flushdb()


def _database_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _unreachable() -> str | None:
    try:
        import psycopg
        import redis

        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2).close()
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # any failure means: no production row, and say why
        return f"production stores unreachable ({type(error).__name__}: {str(error).strip()[:120]})"
    return None
