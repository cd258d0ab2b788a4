"""Shared fixtures: an async runner, the real local engines (started once per session, stopped by pid).

No Django settings needed: the backends are plain Python. pytest-asyncio is not installed, so async
tests run their coroutine through `run`, which bounds it and closes the loop's HTTP session.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.backends.engine_files import EngineState, lock_holder_pid
from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from apps.backends.http_session import close_shared_session
from apps.backends.local_chat import LocalChatBackend
from apps.backends.local_embeddings import LocalEmbeddingsBackend

Runner = Callable[[Awaitable[Any]], Any]
TEST_TIMEOUT_S = 30.0


def run_bounded(awaitable: Awaitable[Any], timeout_s: float = TEST_TIMEOUT_S) -> Any:
    async def main() -> Any:
        try:
            return await asyncio.wait_for(awaitable, timeout_s)
        finally:
            await close_shared_session()

    return asyncio.run(main())


@pytest.fixture
def run() -> Runner:
    return run_bounded


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its exit status is left for the parent to collect.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" not in status.read_text()


def _engine(runtime_dir: Path) -> Iterator[EngineSupervisor]:
    # Small contexts keep memory and start-up low; idle_exit 0: the test stops it, by pid.
    supervisor = EngineSupervisor(EngineSpec(runtime_dir=runtime_dir, context_tokens=512, idle_exit_s=0))
    started = supervisor.ensure().pid
    try:
        yield supervisor
    finally:
        current = lock_holder_pid(supervisor.paths.alive_lock)  # a test may have restarted it
        supervisor.stop()
        for pid in {started, current} - {None}:
            assert pid is not None and not pid_alive(pid), f"engine {pid} still running"


@pytest.fixture(scope="session")
def chat_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineSupervisor]:
    yield from _engine(tmp_path_factory.mktemp("chat-engine"))


@pytest.fixture(scope="session")
def second_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineState]:
    """Another llama.cpp server process (own runtime dir), for driving OpenAICompatibleBackend directly."""
    for supervisor in _engine(tmp_path_factory.mktemp("second-engine")):
        yield supervisor.ensure()


@pytest.fixture(scope="session")
def local_chat(chat_engine: EngineSupervisor) -> LocalChatBackend:
    return LocalChatBackend(supervisor=chat_engine)


@pytest.fixture(scope="session")
def embeddings() -> Iterator[LocalEmbeddingsBackend]:
    backend = LocalEmbeddingsBackend()
    yield backend
    backend.batcher.close()
