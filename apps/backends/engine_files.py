"""The files through which worker processes share one chat engine per machine.

In the runtime directory (`ENGINE_RUNTIME_DIR`, else a private temp folder keyed by this checkout):
- `chat-engine.alive.lock`: held by the live engine process for its whole life, with its pid inside.
  A held lock proves the engine lives; a pid alone could have been reused.
- `chat-engine.spawn.lock`: held by a worker while it checks, starts or stops the engine.
- `chat-engine.users.lock`: shared-locked by every worker using the engine; the engine exits once
  nobody has held it for a while, so it does not outlive the server.
- `chat-engine.slot-N.lock`: one per generation slot, held by the request generating in it
  (`overload.EngineSlots`), so that no request waits inside the engine.
- `chat-engine.json`: address, API key and context size (mode 0600: the key is a secret).
- `chat-engine.log`: the engine's stderr.
Stdlib only: the engine process imports this and must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

RUNTIME_DIR_ENV = "ENGINE_RUNTIME_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class EngineState:
    pid: int
    base_url: str
    api_key: str
    context_tokens: int  # per slot: the longest prompt + answer one request can have
    slots: int
    model: str


@dataclass(frozen=True, slots=True)
class EnginePaths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "chat-engine.json"

    @property
    def alive_lock(self) -> Path:
        return self.root / "chat-engine.alive.lock"

    @property
    def spawn_lock(self) -> Path:
        return self.root / "chat-engine.spawn.lock"

    @property
    def users_lock(self) -> Path:
        return self.root / "chat-engine.users.lock"

    @property
    def log(self) -> Path:
        return self.root / "chat-engine.log"

    def slot_locks(self, slots: int) -> list[Path]:
        return [self.root / f"chat-engine.slot-{index}.lock" for index in range(slots)]


def default_runtime_dir() -> Path:
    configured = os.environ.get(RUNTIME_DIR_ENV)
    if configured:
        return Path(configured)
    # Keyed by checkout, so two clones on one machine never share (or kill) each other's engine.
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"inference-platform-{os.getuid()}-{key}"


def engine_paths(root: Path | None = None) -> EnginePaths:
    paths = EnginePaths(root or default_runtime_dir())
    paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return paths


def write_state(path: Path, state: EngineState) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above only applies to a file that did not exist yet
    with os.fdopen(fd, "w") as file:
        json.dump(asdict(state), file)
    # rename is atomic: a reader sees the old state or the new one, never half a file.
    os.replace(temporary, path)


def read_state(path: Path) -> EngineState | None:
    try:
        return EngineState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def try_lock(fd: int, operation: int = fcntl.LOCK_EX) -> bool:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_holder_pid(path: Path) -> int | None:
    """The pid written in a lock file whose lock is held right now, else None."""
    fd = open_lock(path)
    try:
        if try_lock(fd, fcntl.LOCK_SH):
            return None
        content = os.pread(fd, 32, 0).decode().strip()
        return int(content) if content.isdigit() else None
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
