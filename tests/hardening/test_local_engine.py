"""The machine's local chat engine (llama.cpp, a process of its own, apps/backends/engine_supervisor.py)
under a live server: killed mid-stream, then found back; and locked down: loopback only, API key.

Real model, few tokens. The engine runs in this module's own runtime folder and is stopped by the
PID in its lock file at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apps.backends.engine_files import EngineState, engine_paths, lock_holder_pid, read_state
from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from apps.models_registry.models import Model
from apps.usage.models import UsageRecord
from tests.hardening.shared_db import QUIET_LOG_WRITER
from tests.support.factories import make_token
from tests.support.live_server import live_server

pytestmark = [pytest.mark.models, pytest.mark.live, pytest.mark.django_db(transaction=True)]

MODEL = "smollm2-135m-instruct"
# Small and endless: one slot of 512 tokens loads fast; ignore_eos keeps it talking until killed.
ENGINE_CONFIG = {"slots": 1, "context_tokens": 512, "extra_body": {"ignore_eos": True}}


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("hardening-engine")
    yield root
    EngineSupervisor(EngineSpec(runtime_dir=root)).stop()  # by the PID in its lock file
    assert lock_holder_pid(engine_paths(root).alive_lock) is None


@pytest.fixture
def chat_model(transactional_db: None) -> None:
    Model.objects.update_or_create(
        id=MODEL, defaults={"kind": "chat", "backend": "local_chat", "config": ENGINE_CONFIG}
    )


def engine_state(runtime_dir: Path) -> EngineState:
    state = read_state(engine_paths(runtime_dir).state)
    assert state is not None, "no engine state file"
    return state


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event is not None:
            yield event, json.loads(line.removeprefix("data: "))


def test_an_engine_killed_mid_stream_ends_the_stream_with_an_error_and_is_restarted(runtime_dir, chat_model):
    token = make_token(customer="engine").secret
    headers = {"Authorization": f"Bearer {token}"}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Count to one hundred."}], "max_tokens": 200}
    env = {"ENGINE_RUNTIME_DIR": str(runtime_dir), **QUIET_LOG_WRITER}

    with live_server(env=env, timeout=60) as base:
        events = []
        with httpx.stream(
            "POST", f"{base}/v1/chat/completions", json={**body, "stream": True}, headers=headers, timeout=60
        ) as response:
            for event, envelope in sse_events(response.iter_lines()):
                events.append((event, envelope))
                if len(events) == 3:
                    killed = engine_state(runtime_dir).pid
                    os.kill(killed, signal.SIGKILL)  # a crash: no goodbye to the open request
        after = httpx.post(f"{base}/v1/chat/completions", json={**body, "max_tokens": 4}, headers=headers, timeout=60)
        restarted = engine_state(runtime_dir).pid
        time.sleep(0.5)

    names = [event for event, _ in events]
    assert names[:3] == ["chunk"] * 3 and names[-1] == "error", names
    assert events[-1][1]["error"]["code"] in ("upstream_error", "service_unavailable")
    assert after.status_code == 200, after.text[:300]
    assert after.json()["data"]["choices"][0]["message"]["content"]
    assert restarted != killed
    assert UsageRecord.objects.count() == 1  # the failed stream charged nothing


def test_the_engine_listens_on_loopback_only_and_wants_its_key(runtime_dir):
    supervisor = EngineSupervisor(EngineSpec(runtime_dir=runtime_dir, slots=1, context_tokens=512))
    state = supervisor.ensure()
    supervisor.release()
    headers = {"Authorization": f"Bearer {state.api_key}"}

    without_key = httpx.get(state.base_url + "/v1/models", timeout=10)
    wrong_key = httpx.get(state.base_url + "/v1/models", headers={"Authorization": "Bearer nope"}, timeout=10)
    with_key = httpx.get(state.base_url + "/v1/models", headers=headers, timeout=10)

    assert httpx.URL(state.base_url).host == "127.0.0.1"
    assert listening_addresses(httpx.URL(state.base_url).port) == {"127.0.0.1"}
    assert without_key.status_code == 401 and wrong_key.status_code == 401
    assert with_key.status_code == 200
    assert engine_paths(runtime_dir).state.stat().st_mode & 0o077 == 0  # the key's file is private


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket LISTENing on `port`, from /proc/net/tcp{,6}: what the engine
    bound, seen without sending anything anywhere."""
    addresses = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                addresses.add(_address(address, family))
    return addresses


def _address(hex_address: str, family: int) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words)
