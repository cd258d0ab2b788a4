"""Pieces shared by the inference scenarios (embeddings, chat, idempotency, streaming): a scratch
store with extra model rows, one-off POSTs, the chat engine a bench server spawns, SQLite counts.

`python -m bench.inference_kit --add-models JSON` runs inside a store's environment (Django set up)
and creates or updates the model rows in JSON (a list of {id, kind, backend, config}).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.outcome import Check
from bench.servers import HOST, ROOT, HttpAnswer
from bench.stores import Store, embedded_store

APP = "inference_platform.asgi:application"
READY_PATH = "/v1/models"
CHAT_MODEL = "smollm2-135m-instruct"


def scratch_store(scratch: Path, name: str, *, tokens: int, models: list[dict[str, Any]] | None = None) -> Store:
    """A seeded embedded store in its own folder (scenarios must not share `scratch/embedded`)."""
    directory = scratch / name
    directory.mkdir()
    store = embedded_store(directory, tokens=tokens)
    if models:
        add_models(store.env, models)
    return store


def add_models(env: Mapping[str, str], models: list[dict[str, Any]]) -> None:
    command = [sys.executable, "-m", "bench.inference_kit", "--add-models", json.dumps(models)]
    done = subprocess.run(command, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"adding model rows failed:\n{done.stderr[-2000:]}")


def first_token(store: Store) -> str:
    return store.tokens_file.read_text().split()[0]


def sqlite_path(store: Store) -> Path:
    return Path(store.env["VAR_DIR"]) / "db.sqlite3"


def sqlite_count(store: Store, sql: str, *params: Any) -> int:
    """A read-only count in the store's SQLite database (the server may still be writing)."""
    with sqlite3.connect(f"file:{sqlite_path(store)}?mode=ro", uri=True, timeout=10) as connection:
        return int(connection.execute(sql, params).fetchone()[0])


def post_json(
    port: int, path: str, body: Mapping[str, Any], *, token: str, headers: Mapping[str, str] | None = None
) -> HttpAnswer:
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
        connection.request("POST", path, body=json.dumps(body).encode(), headers=all_headers)
        response = connection.getresponse()
        return HttpAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def expect_ok(answer: HttpAnswer, what: str) -> dict[str, Any]:
    if answer.status != 200:
        raise RuntimeError(f"{what} answered {answer.status}: {answer.body[:300]!r}")
    return json.loads(answer.body)


def no_errors(label: str, failing: list[str]) -> Check:
    """Figures that include errors measure something else: a blocking check."""
    detail = "every request answered 2xx" if not failing else "errors: " + ", ".join(failing)
    return Check(f"no errors ({label})", not failing, detail, blocking=True)


# --- the chat engine a bench server spawns (one per runtime dir) ---


@dataclass(frozen=True)
class DirectEngine:
    base_url: str
    api_key: str
    pid: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def read_engine(runtime_dir: Path) -> DirectEngine:
    from apps.backends.engine_files import EnginePaths, read_state

    state = read_state(EnginePaths(runtime_dir).state)
    if state is None:
        raise RuntimeError(f"no chat engine state in {runtime_dir}: did the API start the engine?")
    return DirectEngine(state.base_url, state.api_key, state.pid)


@contextmanager
def engine_stopped_after(runtime_dir: Path) -> Iterator[Path]:
    """The engine outlives its last worker by `idle_exit_s` (30 s): stop it at once, by the pid that
    holds its alive lock in OUR scratch runtime dir (so it is the engine our server started)."""
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        yield runtime_dir
    finally:
        stop_engine(runtime_dir)


def stop_engine(runtime_dir: Path) -> None:
    from apps.backends.engine_files import EnginePaths, lock_holder_pid

    alive_lock = EnginePaths(runtime_dir).alive_lock
    if not alive_lock.exists():
        return
    for signum in (signal.SIGTERM, signal.SIGKILL):
        pid = lock_holder_pid(alive_lock)
        if pid is None:
            return
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and lock_holder_pid(alive_lock) is not None:
            time.sleep(0.05)


def process_cpu_seconds(pid: int) -> float:
    """user + system time of one process (not its children), from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_env(store: Store, runtime_dir: Path) -> dict[str, str]:
    return store.with_env(ENGINE_RUNTIME_DIR=str(runtime_dir))


def chat_defaults() -> tuple[str, float]:
    """The system prompt and repeat penalty the API adds for the local chat model, so that a direct
    engine request can carry exactly what the API sends upstream."""
    from apps.backends.local_chat import ChatDefaults

    defaults = ChatDefaults()
    return defaults.system_prompt, defaults.repeat_penalty


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--add-models", required=True, help="JSON list of {id, kind, backend, config}")
    args = parser.parse_args()
    import django

    django.setup()
    from apps.models_registry.models import Model

    for row in json.loads(args.add_models):
        defaults = {"kind": row["kind"], "backend": row["backend"], "config": row.get("config", {})}
        Model.objects.update_or_create(id=row["id"], defaults=defaults)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inference_platform.settings.production")
    main()
