"""Child processes die with the server, whatever killed it: after a SIGKILL of the server (uvicorn's
master with several workers), its workers, the embedded batch worker and the chat engine are gone
within seconds (docs/reliability.md, "Orphans").

Regression: the embedded `db_worker` kept running (seen > 100 s) and the engine waited out its idle
time (30 s); uvicorn's workers kept serving after their master was killed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.factories import make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.models, pytest.mark.django_db(transaction=True)]

GONE_WITHIN_S = 10.0


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()  # a zombie has exited
    except OSError:
        return False


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_a_killed_server_leaves_no_process_behind(local_models, tmp_path, workers):
    secret = make_token(customer="orphans").secret
    env = {"ENGINE_RUNTIME_DIR": str(tmp_path / "engine"), "BATCH_EMBEDDED_WORKER": "1"}
    chat = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    children: set[int] = set()
    try:
        with live_server(workers=workers, env=env) as base:
            answer = httpx.post(
                f"{base}/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {secret}"}, timeout=120
            )
            assert answer.status_code == 200, answer.text
            kinds = ("db_worker", "llamacpp_engine")
            assert wait_for(lambda: all(any(k in command_of(p) for p in descendants(base.pid)) for k in kinds), 30)
            children = descendants(base.pid)
            os.kill(base.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            gone = wait_for(lambda: not any(alive(pid) for pid in children), GONE_WITHIN_S)
            print(f"{workers} worker(s): {len(children)} descendants gone in {time.monotonic() - killed_at:.1f} s")
            left = {pid: command_of(pid) for pid in children if alive(pid)}
    finally:
        for pid in children:  # whatever outlived the test: by PID, never by name
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    assert len(children) >= workers + (2 if workers > 1 else 1), children
    assert gone, f"still running {GONE_WITHIN_S} s after the server was killed: {left}"
