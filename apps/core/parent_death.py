"""Child processes die with the server, whatever signal killed it (docs/reliability.md, "Orphans").

- `with_parent_death_signal(command)`: the command line for a child that gets SIGTERM from the
  kernel when the process that started it dies (Linux `PR_SET_PDEATHSIG`, set by a tiny launcher
  that then execs the real command; unlike `preexec_fn` it is safe in a process with threads).
  Start it from a thread that lives as long as the process: the signal follows the thread.
- `exit_with_uvicorn_master()`: in a worker of `uvicorn --workers N`, a thread that asks this
  worker to shut down gracefully (SIGTERM) when the master died. uvicorn's workers go on serving
  after a SIGKILL of their master otherwise, and with them the children they started.

Run as `python -m apps.core.parent_death PARENT_PID COMMAND...` (the launcher; stdlib only).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def with_parent_death_signal(command: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-m", "apps.core.parent_death", str(os.getpid()), *command]


def exit_with_uvicorn_master() -> None:
    parent = multiprocessing.parent_process()
    if parent is None:  # a single-process server: its parent is a shell or a supervisor, not ours
        return

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: returns when the master is gone
        logger.warning("uvicorn's master process died; this worker shuts down")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _launch(parent_pid: int, command: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        sys.exit(0)
    os.execv(command[0], command)  # the signal setting survives exec


if __name__ == "__main__":
    _launch(int(sys.argv[1]), sys.argv[2:])
