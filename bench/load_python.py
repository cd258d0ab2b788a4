"""The fallback load generator: keep-alive HTTP/1.1 over asyncio, in its own process like wrk.

Slower than wrk (it needs more CPU per request, on the same cores as the servers), so floors
measured with it are lower; ratios within one run stay meaningful, absolute numbers do not.
Run as `python -m bench.load_python URL CONCURRENCY SECONDS [TOKENS_FILE]`; prints wrk's JSON.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import LoadResult, LoadSpec, result_from_json

ROOT = Path(__file__).resolve().parent.parent


class PythonLoad:
    name = "python asyncio (fallback)"

    def run(self, spec: LoadSpec) -> LoadResult:
        command = [sys.executable, "-m", "bench.load_python", spec.url, str(spec.concurrency), str(spec.duration_s)]
        command += [str(spec.tokens_file)] if spec.tokens_file else []
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=spec.duration_s + 60)
        if done.returncode != 0:
            raise RuntimeError(f"python load generator failed: {done.stderr.strip()[-500:]}")
        return result_from_json(json.loads(done.stdout))


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    status_errors: int = 0
    socket_errors: int = 0


def build_requests(url: str, tokens: list[str]) -> list[bytes]:
    parts = urlsplit(url)
    head = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    auth = [f"Authorization: Bearer {token}\r\n" for token in tokens] or [""]
    return [(head + line + "\r\n").encode() for line in auth]


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response; returns its status. Handles Content-Length and chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
    )
    if headers.get(b"transfer-encoding") == b"chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return int(head[9:12])


async def connection(
    host: str, port: int, request_at: Callable[[int], bytes], offset: int, deadline: float, tally: Tally, timeout: float
) -> None:
    """One keep-alive connection sending `request_at(n)` for n = offset, offset + 1, … until the
    deadline; reconnects after an error (counted)."""
    index = offset
    while time.perf_counter() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            tally.socket_errors += 1
            await asyncio.sleep(0.01)
            continue
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request_at(index))
                index += 1
                status = await asyncio.wait_for(read_response(reader), timeout=timeout)
                tally.latencies.append(time.perf_counter() - started)
                tally.status_errors += status >= 400
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            tally.socket_errors += 1
        finally:
            writer.close()


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] if ordered else 0.0


async def main(url: str, concurrency: int, seconds: int, tokens: list[str]) -> dict[str, float]:
    requests = build_requests(url, tokens)
    return await run_load(url, concurrency, seconds, lambda n: requests[n % len(requests)], timeout=5)


async def run_load(
    url: str, concurrency: int, seconds: float, request_at: Callable[[int], bytes], *, timeout: float
) -> dict[str, float]:
    """`concurrency` connections for `seconds`; the summary wrk's Lua scripts print."""
    parts = urlsplit(url)
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    await asyncio.gather(*(connection(host, port, request_at, i, deadline, tally, timeout) for i in range(concurrency)))
    return summary(tally, started)


def summary(tally: Tally, started: float) -> dict[str, float]:
    """The run as wrk's summary reports it (bench/wrk/*.lua), in microseconds."""
    ordered = sorted(tally.latencies)
    to_us = 1e6
    return {
        "requests": len(ordered),
        "duration_us": (time.perf_counter() - started) * to_us,
        "status_errors": tally.status_errors,
        "socket_errors": tally.socket_errors,
        "p50_us": percentile(ordered, 50) * to_us,
        "p99_us": percentile(ordered, 99) * to_us,
        "mean_us": sum(ordered) / len(ordered) * to_us if ordered else 0.0,
        "max_us": ordered[-1] * to_us if ordered else 0.0,
    }


def loop_factory() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # installed with uvicorn[standard]; the faster loop leaves more CPU to the servers
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    url, concurrency, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tokens = Path(sys.argv[4]).read_text().split() if len(sys.argv) > 4 else []
    print(json.dumps(asyncio.run(main(url, concurrency, seconds, tokens), loop_factory=loop_factory)))
