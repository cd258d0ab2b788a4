"""Readiness and the real local chat engine (docs/deploy.md, "Health checks"): a stopped engine is
reported not ready, naming the model, and readiness starts it again, because a balancer sends no
traffic to a process that is not ready, so no request would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from apps.backends.engine_supervisor import EngineSupervisor
from apps.backends.local_chat import LocalChatBackend
from apps.backends.registry import backend_for, close_backends
from apps.models_registry.models import Model
from apps.operations.health import engine_starting, probe_results_clear

pytestmark = [pytest.mark.models, pytest.mark.live, pytest.mark.django_db(transaction=True)]

MODEL = "health-chat"
CONFIG = {"context_tokens": 512, "slots": 1, "idle_exit_s": 0}  # its own registry entry, a small engine


@pytest.fixture
def supervisor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineSupervisor]:
    monkeypatch.setenv("ENGINE_RUNTIME_DIR", str(tmp_path / "engine"))
    Model.objects.all().delete()  # only this model: the seeded ones would start the shared engine
    Model.objects.create(id=MODEL, kind="chat", backend="local_chat", config=CONFIG)
    backend = backend_for(backend="local_chat", config=CONFIG)
    assert isinstance(backend, LocalChatBackend)
    yield backend.supervisor
    wait_for(lambda: not engine_starting(backend.supervisor), "the background start to finish")
    backend.supervisor.stop()
    async_to_sync(close_backends)()
    probe_results_clear()


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)
    return result


def test_a_stopped_engine_is_not_ready_and_readiness_starts_it(api, supervisor):
    first = api.get("/health/ready")  # nothing has used the engine yet
    assert first.status_code == 503
    assert first.json()["failing"] == [f"model:{MODEL}"]
    assert "not running" in first.json()["checks"][f"model:{MODEL}"]["detail"]

    wait_for(lambda: api.get("/health/ready").status_code == 200, "the engine to start")
    pid = supervisor.running().pid  # type: ignore[union-attr]

    supervisor.stop()  # an operator, a crash or the OOM killer
    stopped = api.get("/health/ready")

    assert stopped.status_code == 503
    assert stopped.json()["failing"] == [f"model:{MODEL}"]
    assert "not running" in stopped.json()["checks"][f"model:{MODEL}"]["detail"]
    wait_for(lambda: api.get("/health/ready").status_code == 200, "the engine to start again")
    assert supervisor.running().pid != pid  # type: ignore[union-attr]
