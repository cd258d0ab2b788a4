"""One fixed-duration load run against one URL, with wrk when it is available, else in Python.

Both generators take the same `LoadSpec` and return the same `LoadResult`, so scenarios never
care which one ran; the report says which, because their numbers are not comparable across runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LoadSpec:
    url: str
    concurrency: int
    duration_s: int
    tokens_file: Path | None = None  # one bearer token per line, rotated per request


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    duration_s: float
    status_errors: int  # responses with status >= 400
    socket_errors: int  # connect/read/write errors and timeouts
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors


class LoadGenerator(Protocol):
    name: str

    def run(self, spec: LoadSpec) -> LoadResult: ...


def result_from_json(data: dict[str, float]) -> LoadResult:
    """Both generators print the same JSON keys (microseconds, like wrk)."""
    return LoadResult(
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        status_errors=int(data["status_errors"]),
        socket_errors=int(data["socket_errors"]),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def ensure_wrk() -> str | None:
    """The path of wrk, installing Debian's package when we can (root, apt-get); None if not."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("bench: wrk is missing; installing it with apt-get", file=sys.stderr)
    if not _apt("install", "-y", "-q", "wrk"):
        _apt("update", "-q")  # a fresh container has no package index yet
        _apt("install", "-y", "-q", "wrk")
    return shutil.which("wrk")


def _apt(*args: str) -> bool:
    done = subprocess.run(["apt-get", *args], capture_output=True, timeout=300, check=False)
    return done.returncode == 0


def load_generator(choice: str) -> LoadGenerator:
    """`choice`: "auto" (wrk if it can be had, else Python), "wrk" or "python"."""
    from bench.load_python import PythonLoad
    from bench.load_wrk import WrkLoad

    if choice == "python":
        return PythonLoad()
    wrk = ensure_wrk()
    if wrk is not None:
        return WrkLoad(wrk)
    if choice == "wrk":
        raise SystemExit("bench: --load wrk, but wrk is not installed and could not be installed")
    print("bench: wrk unavailable; using the Python load generator (slower, numbers not comparable)", file=sys.stderr)
    return PythonLoad()
