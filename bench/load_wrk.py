"""wrk (C, keep-alive, one thread per connection group) driven by `wrk/rotate.lua`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.load import LoadResult, LoadSpec, result_from_json

SCRIPT = Path(__file__).parent / "wrk" / "rotate.lua"
MARKER = "BENCH_JSON "


class WrkLoad:
    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.name = f"wrk ({_version(executable)})"

    def run(self, spec: LoadSpec) -> LoadResult:
        # One thread: on 2 cores the servers need the other core, and one wrk thread drives
        # well over the rates measured here.
        command = [
            self.executable, "-t1", f"-c{spec.concurrency}", f"-d{spec.duration_s}s", "--timeout", "5s",
            "-s", str(SCRIPT), spec.url, "--", str(spec.tokens_file or ""),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=spec.duration_s + 60, check=False)
        for line in done.stdout.splitlines():
            if line.startswith(MARKER):
                return result_from_json(json.loads(line.removeprefix(MARKER)))
        raise RuntimeError(f"wrk printed no summary (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def _version(executable: str) -> str:
    done = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[:1]
    return first[0].split(" [")[0].removeprefix("wrk ") if first else "unknown version"
