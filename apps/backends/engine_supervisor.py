"""Worker side of the shared chat engine: find it, health-check it, start or restart it, stop it.

Whichever worker first takes the spawn lock starts `llamacpp_engine` and waits for its state file;
the others then read that file. Every method blocks (file locks, process waits, a health probe), so
async callers run them in a thread. The lock files are described in `engine_files`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from apps.backends.engine_files import (
    REPO_ROOT,
    EnginePaths,
    EngineState,
    engine_paths,
    exclusive,
    lock_holder_pid,
    open_lock,
    read_state,
)
from apps.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 10.0
MAX_LOG_BYTES = 4 * 1024 * 1024
# No proxy: an HTTP_PROXY set for the outside world must not intercept the loopback probe.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class EngineSpec:
    runtime_dir: Path | None = None  # None: ENGINE_RUNTIME_DIR or the per-checkout temp folder
    slots: int = 2
    context_tokens: int = 2048
    threads: int = 0  # 0: llama.cpp's choice
    idle_exit_s: float = 30.0  # how long the engine outlives its last worker; 0: until stopped
    start_timeout_s: float = 60.0


class EngineSupervisor:
    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.paths: EnginePaths = engine_paths(spec.runtime_dir)
        self._users_fd: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def ensure(self) -> EngineState:
        """A healthy engine's state, starting (or replacing) the engine if needed."""
        self._join_users()
        if self._process is not None and self._process.poll() is not None:
            self._process = None  # an engine we started has died (and is now reaped)
        with exclusive(self.paths.spawn_lock):
            state = read_state(self.paths.state)
            if state is not None and self.is_healthy(state):
                return state
            self._kill_engine()
            return self._spawn()

    @property
    def in_use(self) -> bool:
        """Whether this worker counts as one of the engine's users (`ensure` makes it one)."""
        return self._users_fd is not None

    def running(self) -> EngineState | None:
        """The live engine's state, without starting one or asking it anything (readiness checks:
        a file read and a lock test, cheap enough to run every second)."""
        state = read_state(self.paths.state)
        if state is None or lock_holder_pid(self.paths.alive_lock) != state.pid:
            return None
        return state

    def is_healthy(self, state: EngineState) -> bool:
        if lock_holder_pid(self.paths.alive_lock) != state.pid:
            return False
        try:
            with _DIRECT.open(state.base_url + "/health", timeout=HEALTH_TIMEOUT_S) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the engine now (tests, `make` targets); workers still using it will start a new one."""
        with exclusive(self.paths.spawn_lock):
            self._kill_engine()
        self.release()

    def release(self) -> None:
        """Stop counting as a user: the engine exits once no worker uses it (ASGI shutdown)."""
        if self._users_fd is not None:
            os.close(self._users_fd)
            self._users_fd = None

    def _join_users(self) -> None:
        if self._users_fd is None:
            fd = open_lock(self.paths.users_lock)
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while an idle engine is on its way out
            self._users_fd = fd

    def _spawn(self) -> EngineState:
        # Appended across restarts (a crash loop leaves its story), but never beyond a few MiB.
        oversized = self.paths.log.exists() and self.paths.log.stat().st_size > MAX_LOG_BYTES
        with open(self.paths.log, "wb" if oversized else "ab") as log:
            self._process = subprocess.Popen(
                self._command(),
                cwd=REPO_ROOT,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        return self._wait_for_state(self._process)

    def _command(self) -> list[str]:
        spec = self.spec
        options = {
            "--runtime-dir": self.paths.root,
            "--slots": spec.slots,
            "--context-tokens": spec.context_tokens,
            "--threads": spec.threads,
            "--idle-exit-s": spec.idle_exit_s,
            "--parent-pid": os.getpid(),  # if we die, the engine does not wait out its idle time
        }
        arguments = [str(item) for option in options.items() for item in option]
        return [sys.executable, "-m", "apps.backends.llamacpp_engine", *arguments]

    def _env(self) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        return {**os.environ, "PYTHONPATH": path}

    def _wait_for_state(self, process: subprocess.Popen[bytes]) -> EngineState:
        deadline = time.monotonic() + self.spec.start_timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            state = read_state(self.paths.state)
            if state is not None and state.pid == process.pid and self.is_healthy(state):
                return state
            time.sleep(0.05)
        self._kill_engine()
        logger.error(
            "the local chat engine did not start within %ss; see %s", self.spec.start_timeout_s, self.paths.log
        )
        raise ServiceUnavailable("The local chat engine did not start; retry shortly.")

    def _kill_engine(self) -> None:
        pid = lock_holder_pid(self.paths.alive_lock)
        if pid is not None:
            _terminate(pid, self.paths.alive_lock)
        if self._process is not None:
            # Our own child is reaped here (no zombie), and killed if it somehow outlived its lock.
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=STOP_TIMEOUT_S)
            self._process = None
        self.paths.state.unlink(missing_ok=True)


def _terminate(pid: int, alive_lock: Path) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if lock_holder_pid(alive_lock) is None:
                return
            time.sleep(0.05)
