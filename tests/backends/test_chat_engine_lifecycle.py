"""The shared engine's life: one per runtime dir, gone once no worker uses it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.backends.engine_files import lock_holder_pid
from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor

from .conftest import pid_alive

pytestmark = [pytest.mark.models, pytest.mark.live]


def test_the_engine_exits_by_itself_once_no_worker_uses_it(tmp_path: Path) -> None:
    supervisor = EngineSupervisor(EngineSpec(runtime_dir=tmp_path, context_tokens=256, idle_exit_s=0.5))
    state = supervisor.ensure()
    try:
        supervisor.release()  # the last (only) worker leaves
        deadline = time.monotonic() + 10.0
        while lock_holder_pid(supervisor.paths.alive_lock) is not None and time.monotonic() < deadline:
            time.sleep(0.1)

        assert lock_holder_pid(supervisor.paths.alive_lock) is None
        assert not supervisor.paths.state.exists()
    finally:
        supervisor.stop()  # by pid, should the engine still be there
    assert not pid_alive(state.pid)


def test_the_state_file_is_private(chat_engine: EngineSupervisor) -> None:
    assert chat_engine.paths.state.stat().st_mode & 0o077 == 0
    assert chat_engine.paths.root.stat().st_mode & 0o077 == 0
