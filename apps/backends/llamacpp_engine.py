"""The machine's one chat engine: llama.cpp's OpenAI-compatible server, in-process via xllamacpp.

Run as `python -m apps.backends.llamacpp_engine --runtime-dir DIR` (workers spawn it through
`engine_supervisor`). It binds 127.0.0.1 on a random port behind a random API key, writes both to the
state file, and lives until SIGTERM/SIGINT, or until no worker has held the users lock for
`--idle-exit-s` seconds, or at once when none holds it and its parent (`--parent-pid`) has died.
No Django here: it has to start fast.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path

from apps.backends.engine_files import (
    EnginePaths,
    EngineState,
    engine_paths,
    open_lock,
    read_state,
    try_lock,
    write_state,
)
from apps.backends.model_files import smollm2_gguf

MODEL_ALIAS = "smollm2-135m-instruct"
ALIVE_LOCK_WAIT_S = 10.0
POLL_S = 0.5


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    paths = engine_paths(Path(args.runtime_dir))
    if not _take_alive_lock(paths):
        print("another chat engine is alive in this runtime dir", file=sys.stderr)
        return 1
    stop = _stop_on_signals()
    server, state = _start_server(args)
    write_state(paths.state, state)
    _serve_until_stopped(paths, stop, idle_exit_s=args.idle_exit_s, parent_pid=args.parent_pid)
    _forget_state(paths, state)
    del server  # xllamacpp has no stop method: the server goes with its object and our process
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime-dir", required=True)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--context-tokens", type=int, default=2048, help="per slot")
    parser.add_argument("--threads", type=int, default=0, help="0: llama.cpp's choice")
    parser.add_argument("--idle-exit-s", type=float, default=30.0, help="0: never")
    parser.add_argument("--parent-pid", type=int, default=0, help="exit at once when it died and nobody uses us")
    return parser.parse_args(argv)


def _take_alive_lock(paths: EnginePaths) -> bool:
    # A predecessor may still be on its way out: give it a moment before giving up.
    fd = open_lock(paths.alive_lock)
    deadline = time.monotonic() + ALIVE_LOCK_WAIT_S
    while not try_lock(fd):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return True  # fd stays open (and locked) until the process exits


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _start_server(args: argparse.Namespace) -> tuple[object, EngineState]:
    import xllamacpp  # here, not at the top: `--help` and tests of this module need no llama.cpp

    api_key = secrets.token_urlsafe(32)
    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_gguf())
    params.model_alias = {MODEL_ALIAS}
    params.hostnames = ["127.0.0.1"]  # loopback only, and the key is still enforced
    params.port = 0
    params.api_keys = [api_key]
    params.n_parallel = args.slots
    params.n_ctx = args.slots * args.context_tokens  # llama.cpp splits n_ctx across the slots
    params.verbosity = 1
    params.ui = False
    params.cache_ram_mib = 0  # the host-RAM prompt cache (8 GiB by default) would grow with traffic
    if args.threads > 0:
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)  # blocks until the model is loaded
    state = EngineState(os.getpid(), server.listening_address, api_key, args.context_tokens, args.slots, MODEL_ALIAS)
    return server, state


def _serve_until_stopped(paths: EnginePaths, stop: threading.Event, *, idle_exit_s: float, parent_pid: int) -> None:
    """Until a signal, or nobody has used us for `idle_exit_s`, or nobody uses us and the worker that
    started us is gone (killed, even by SIGKILL: the server died, so do we, without lingering)."""
    users = open_lock(paths.users_lock)
    idle_since = time.monotonic()
    while not stop.wait(POLL_S):
        if not try_lock(users):
            idle_since = time.monotonic()
            continue
        orphaned = parent_pid > 0 and os.getppid() != parent_pid  # re-parented: our parent died
        if orphaned or (idle_exit_s and time.monotonic() - idle_since > idle_exit_s):
            # Keep the lock while leaving: a worker arriving now waits, then sees no state and respawns.
            return
        fcntl.flock(users, fcntl.LOCK_UN)


def _forget_state(paths: EnginePaths, state: EngineState) -> None:
    # A successor may already have written its own state; only ours is removed.
    current = read_state(paths.state)
    if current is not None and current.pid == state.pid:
        paths.state.unlink(missing_ok=True)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: llama.cpp's server threads are still running and nothing needs saving.
    os._exit(code)
