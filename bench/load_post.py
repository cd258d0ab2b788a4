"""Fixed-duration POST load (a JSON body, rotating bearer tokens, optional Idempotency-Key), with wrk
(`wrk/post.lua`) when the run's generator is wrk, else a Python asyncio fallback in its own process.

`PostTarget` plugs into `bench.measure.measure()` like any `Target`: its `spec()` is a `PostSpec`,
which `PostLoad.run()` understands, so the interleaved rounds and medians are the Foundation's.
Idempotency modes: "none" (no header), "unique" (a fresh key per request: every call claims),
"replay" (one fixed key, primed beforehand: every call replays).

Fallback: `python -m bench.load_post URL CONCURRENCY SECONDS TOKENS_FILE BODY_FILE MODE KEY`;
prints the same JSON as wrk's summary.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import LoadGenerator, LoadResult, LoadSpec, result_from_json
from bench.load_python import loop_factory, run_load
from bench.load_wrk import MARKER, WrkLoad
from bench.measure import Phase, Target

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).parent / "wrk" / "post.lua"
MODES = ("none", "unique", "replay")


@dataclass(frozen=True, slots=True)
class PostSpec(LoadSpec):
    body_file: Path | None = None
    idempotency: str = "none"
    key: str = ""  # "unique": the prefix of every key; "replay": the key itself


@dataclass(frozen=True)
class PostTarget(Target):
    body_file: Path | None = None
    idempotency: str = "none"
    key: str = ""

    def spec(self, phase: Phase) -> LoadSpec:
        # A fresh prefix per run, so "unique" keys never repeat across rounds.
        key = f"{self.key}-{time.monotonic_ns():x}" if self.idempotency == "unique" else self.key
        return PostSpec(
            self.server.url(self.path),
            phase.concurrency,
            phase.duration_s,
            self.tokens_file,
            body_file=self.body_file,
            idempotency=self.idempotency,
            key=key,
        )


class PostLoad:
    """The POST counterpart of the run's load generator (wrk stays wrk, Python stays Python)."""

    def __init__(self, base: LoadGenerator) -> None:
        self.wrk = base.executable if isinstance(base, WrkLoad) else None
        self.name = f"{base.name}, POST"

    def run(self, spec: LoadSpec) -> LoadResult:
        if not isinstance(spec, PostSpec) or spec.body_file is None or spec.tokens_file is None:
            raise TypeError("PostLoad needs a PostSpec with a body file and a tokens file")
        if spec.idempotency not in MODES:
            raise ValueError(f"idempotency mode {spec.idempotency!r}; known: {MODES}")
        arguments = [str(spec.tokens_file), str(spec.body_file), spec.idempotency, spec.key]
        if self.wrk is not None:
            command = [
                self.wrk, "-t1", f"-c{spec.concurrency}", f"-d{spec.duration_s}s", "--timeout", "10s",
                "-s", str(SCRIPT), spec.url, "--", *arguments,
            ]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, timeout=spec.duration_s + 60, check=False)
            for line in done.stdout.splitlines():
                if line.startswith(MARKER):
                    return result_from_json(json.loads(line.removeprefix(MARKER)))
            raise RuntimeError(f"wrk printed no summary (exit {done.returncode}): {done.stderr.strip()[-500:]}")
        command = [sys.executable, "-m", "bench.load_post", spec.url, str(spec.concurrency), str(spec.duration_s)]
        done = subprocess.run(
            command + arguments, capture_output=True, text=True, cwd=ROOT, timeout=spec.duration_s + 60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"python POST load generator failed: {done.stderr.strip()[-500:]}")
        return result_from_json(json.loads(done.stdout))


# --- the Python fallback (runs in its own process) ---


class Requests:
    def __init__(self, url: str, tokens: list[str], body: bytes, mode: str, key: str) -> None:
        parts = urlsplit(url)
        self.head = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        self.head += f"Content-Length: {len(body)}\r\n"
        self.tokens, self.body, self.mode, self.key = tokens, body, mode, key
        self.counter = 0

    def build(self, index: int) -> bytes:
        head = self.head + f"Authorization: Bearer {self.tokens[index % len(self.tokens)]}\r\n"
        if self.mode == "replay":
            head += f"Idempotency-Key: {self.key}\r\n"
        elif self.mode == "unique":
            self.counter += 1
            head += f"Idempotency-Key: {self.key}-0-{self.counter}\r\n"
        return (head + "\r\n").encode() + self.body


async def main(url: str, concurrency: int, seconds: int, requests: Requests) -> dict[str, float]:
    return await run_load(url, concurrency, seconds, requests.build, timeout=10)


if __name__ == "__main__":
    url, concurrency, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tokens = Path(sys.argv[4]).read_text().split()
    body, mode, key = Path(sys.argv[5]).read_bytes(), sys.argv[6], sys.argv[7]
    requests = Requests(url, tokens, body, mode, key)
    print(json.dumps(asyncio.run(main(url, concurrency, seconds, requests), loop_factory=loop_factory)))
