"""Server-Sent Events (docs/streaming.md): many concurrent streams on one worker, and time to first token.

streams     500 concurrent `POST /v1/chat/completions` with `"stream": true` on ONE uvicorn worker,
            against the fake backend (20 tokens, 50 ms apart: each stream lasts >= 1 s), all opened
            at once from an asyncio client (aiohttp) in this process. Target: zero errors, every
            stream ends with `event: done`; the server must also have recorded one charge per
            stream. Reported: completion rate, total time, events/s, time to the first chunk.
first token `smollm2-135m-instruct` with `"stream": true`, c=1, through the API vs the same request
            straight to the llama.cpp engine the API spawned (as in the chat scenario), alternating,
            median of N: time to the response headers and to the first content chunk.

Run alone: `python bench/run.py --scenario streaming [--quick]`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from bench.config import BenchContext
from bench.inference_kit import (
    APP,
    CHAT_MODEL,
    READY_PATH,
    engine_env,
    engine_stopped_after,
    expect_ok,
    first_token,
    no_errors,
    post_json,
    read_engine,
    scratch_store,
    sqlite_count,
)
from bench.load_python import loop_factory, percentile
from bench.outcome import Check, Column, ScenarioResult
from bench.scenarios.inference import API, ENGINE, ChatSides
from bench.servers import Server, ServerSpec, running

STREAMS = 500
FAKE_MODEL = "bench-sse-fake"
REPLY_TOKENS, TOKEN_DELAY_S = 20, 0.05
WARM_STREAMS = 20
TTFT_MAX_TOKENS = 16
TIMEOUT_S = 120
TTFT_MODES = {"new prompt": True, "cached prompt": False}


@dataclass
class ManyRun:
    total_s: float  # first request sent -> last stream ended
    server_cpu_s: float
    results: list[StreamResult]


@dataclass
class StreamResult:
    status: int = 0
    headers_s: float | None = None  # response headers received
    first_chunk_s: float | None = None  # first content chunk
    duration_s: float = 0.0
    events: int = 0  # chunk + done (+ error) events
    last_event: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status == 200 and self.last_event == "done" and self.error is None


def run(ctx: BenchContext) -> ScenarioResult:
    config = ctx.config
    fd_note = _raise_fd_limit(2 * STREAMS + 512)
    fake = {
        "id": FAKE_MODEL,
        "kind": "chat",
        "backend": "fake",
        "config": {"reply_tokens": REPLY_TOKENS, "token_delay_s": TOKEN_DELAY_S},
    }
    store = scratch_store(ctx.scratch, "streaming", tokens=1, models=[fake])
    token = first_token(store)
    runs = 1 if config.quick else 2
    samples = 4 if config.quick else 10
    with engine_stopped_after(ctx.scratch / "streaming" / "engine") as runtime_dir:
        spec = ServerSpec("streaming", APP, engine_env(store, runtime_dir), 1, READY_PATH)
        with running([spec], ctx.scratch) as servers:
            server = servers[spec.name]
            base = server.url("")
            many = asyncio.run(_many_runs(base, token, runs, server), loop_factory=loop_factory)
            expected = WARM_STREAMS + sum(sum(r.done for r in run.results) for run in many)
            charges = _charges_settled(store, expected)
            probe = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
            expect_ok(post_json(server.port, "/v1/chat/completions", probe, token=token), "chat probe")
            engine = read_engine(runtime_dir)
            sides = ChatSides(base, token, engine.base_url, engine.headers)
            ttft = {
                mode: asyncio.run(_first_tokens(sides, samples, fresh=fresh), loop_factory=loop_factory)
                for mode, fresh in TTFT_MODES.items()
            }
    return _result(many, ttft, charges, expected, [fd_note] if fd_note else [])


# --- 500 concurrent streams ---


async def _many_runs(base: str, token: str, runs: int, server: Server) -> list[ManyRun]:
    body = {
        "model": FAKE_MODEL,
        "messages": [{"role": "user", "content": "one two three four five"}],
        "max_tokens": REPLY_TOKENS,
        "stream": True,
    }
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S, sock_connect=30)
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0, force_close=True), headers=headers
    ) as session:
        warm = await asyncio.gather(*(_fake_stream(session, base, body) for _ in range(WARM_STREAMS)))
        if not all(r.done for r in warm):
            raise RuntimeError(f"warm-up streams failed: {[r.error or r.last_event for r in warm if not r.done][:3]}")
        for index in range(runs):
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
            results = await asyncio.gather(*(_fake_stream(session, base, body) for _ in range(STREAMS)))
            total = time.perf_counter() - started
            out.append(ManyRun(total, server.cpu_seconds() - cpu_before, list(results)))
            done = sum(r.done for r in results)
            print(
                f"  streams run {index + 1}/{runs}: {done}/{STREAMS} done in {total:.2f} s", file=sys.stderr, flush=True
            )
            await asyncio.sleep(1)  # let the server settle the last charges and log rows
    return out


async def _fake_stream(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> StreamResult:
    return await _read_stream(
        session, base + "/v1/chat/completions", body, {}, has_text=lambda event, _data: event == "chunk"
    )


async def _read_stream(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    *,
    has_text: Callable[[str | None, bytes], bool],
) -> StreamResult:
    """POST one stream and time it: headers, the first `data:` line that `has_text` (given the
    event it belongs to), the end. An engine's `data: [DONE]` counts as its `done` event."""
    result = StreamResult()
    started = time.perf_counter()
    event = None
    try:
        async with session.post(url, json=body, headers=headers) as response:
            result.status = response.status
            result.headers_s = time.perf_counter() - started
            if response.status != 200:
                result.error = f"{response.status} {(await response.read())[:120]!r}"
                return result
            async for raw in response.content:
                line = raw.rstrip(b"\r\n")
                if line.startswith(b"event:"):
                    event = line[6:].strip().decode()
                    result.events += 1
                    result.last_event = event
                elif line.strip() == b"data: [DONE]":
                    result.last_event = "done"
                elif line.startswith(b"data:") and result.first_chunk_s is None and has_text(event, line[5:]):
                    result.first_chunk_s = time.perf_counter() - started
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        result.error = f"{type(exc).__name__}: {str(exc)[:80]}"
    finally:
        result.duration_s = time.perf_counter() - started
    return result


def _charges_settled(store: Any, expected: int, wait_s: float = 10.0) -> int:
    """Usage rows for the fake model: a stream's charge commits after its `done` event went out."""
    deadline = time.monotonic() + wait_s
    sql = "SELECT COUNT(*) FROM usage_usagerecord WHERE model = ?"
    while True:
        count = sqlite_count(store, sql, FAKE_MODEL)
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


# --- time to first token: API vs engine ---


async def _first_tokens(sides: ChatSides, samples: int, *, fresh: bool) -> dict[str, list[StreamResult]]:
    """`fresh`: a new prompt every request (the engine processes the user message each time);
    else the same prompt every time, so the engine answers from its prompt cache and the
    difference between the sides is almost only the API's own work."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    results: dict[str, list[StreamResult]] = {API: [], ENGINE: []}
    # A new connection per request on both sides: llama.cpp's server closes a connection after a
    # stream, so a pooled one would fail on reuse (ServerDisconnectedError).
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        for side in (API, ENGINE):  # warm: the API's upstream pool, the prompt cache
            await _chat_stream(session, sides, side, 0, fresh=fresh)
        for index in range(samples):
            order = (API, ENGINE) if index % 2 == 0 else (ENGINE, API)
            for side in order:
                results[side].append(await _chat_stream(session, sides, side, index if fresh else 0, fresh=fresh))
    return results


async def _chat_stream(
    session: aiohttp.ClientSession, sides: ChatSides, side: str, index: int, *, fresh: bool
) -> StreamResult:
    body = sides.body(side, index, stream=True, max_tokens=TTFT_MAX_TOKENS, fresh=fresh)
    return await _read_stream(
        session, sides.urls[side], body, sides.headers[side], has_text=lambda event, data: _has_text(side, event, data)
    )


def _has_text(side: str, event: str | None, data: bytes) -> bool:
    data = data.strip()
    if side == API:
        return event == "chunk" and bool(json.loads(data)["data"]["delta"])
    if data == b"[DONE]":
        return False
    choices = json.loads(data).get("choices") or []
    return bool(choices and (choices[0].get("delta") or {}).get("content"))


# --- the result ---


def _ms(values: list[float], q: float) -> float | None:
    return 1000 * percentile(sorted(values), q) if values else None


def _result(
    many: list[ManyRun],
    ttft: dict[str, dict[str, list[StreamResult]]],
    charges: int,
    expected: int,
    notes: list[str],
) -> ScenarioResult:
    rows = []
    for index, run in enumerate(many):
        total, results = run.total_s, run.results
        done = [r for r in results if r.done]
        events = sum(r.events for r in results)
        rows.append(
            {
                "target": f"{STREAMS} streams, run {index + 1}",
                "requests": len(results),
                "done": len(done),
                "errors": len(results) - len(done),
                "total_s": total,
                "events_per_s": events / total if total else 0.0,
                "cpu_ms_per_stream": 1000 * run.server_cpu_s / len(results),
                "headers_p50_ms": _ms([r.headers_s for r in done if r.headers_s is not None], 50),
                "first_p50_ms": _ms([r.first_chunk_s for r in done if r.first_chunk_s is not None], 50),
                "first_p99_ms": _ms([r.first_chunk_s for r in done if r.first_chunk_s is not None], 99),
                "duration_p50_ms": _ms([r.duration_s for r in done], 50),
                "duration_p99_ms": _ms([r.duration_s for r in done], 99),
            }
        )
    firsts: dict[tuple[str, str], float] = {}
    for mode, by_side in ttft.items():
        for side in (API, ENGINE):
            results = by_side[side]
            done = [r for r in results if r.done and r.first_chunk_s is not None]
            firsts[(mode, side)] = statistics.median(r.first_chunk_s for r in done) * 1000 if done else 0.0
            rows.append(
                {
                    "target": f"first token, {mode}: {side}",
                    "requests": len(results),
                    "done": len(done),
                    "errors": len(results) - len(done),
                    "headers_p50_ms": _ms([r.headers_s for r in done if r.headers_s is not None], 50),
                    "first_p50_ms": firsts[(mode, side)],
                    "first_p99_ms": _ms([r.first_chunk_s for r in done if r.first_chunk_s is not None], 99),
                    "duration_p50_ms": _ms([r.duration_s for r in done], 50),
                    "duration_p99_ms": _ms([r.duration_s for r in done], 99),
                }
            )
    stream_failures = [
        f"run {i + 1}: {row['errors']} ({_first_failure(run.results)})"
        for i, (run, row) in enumerate(zip(many, rows, strict=False))
        if row["errors"]
    ]
    completion = sum(row["done"] for row in rows[: len(many)]) / (STREAMS * len(many))
    checks = [
        Check(
            f"{STREAMS} concurrent SSE streams on one worker, every one ends with event: done",
            not stream_failures,
            f"completion {completion:.1%}" + ("" if not stream_failures else "; " + ", ".join(stream_failures)),
            blocking=True,
        ),
        Check(
            "the server recorded one charge per completed stream",
            charges == expected,
            f"{charges} usage rows for {expected} completed streams (warm-up included)",
            blocking=True,
        ),
        no_errors(
            "first-token streams", [f"{row['target']}: {row['errors']}" for row in rows[len(many) :] if row["errors"]]
        ),
    ]
    notes = [*notes]
    for mode in ttft:
        api, engine = firsts[(mode, API)], firsts[(mode, ENGINE)]
        notes.append(
            f"time to first token ({mode}), median of {len(ttft[mode][API])}: API {api:.0f} ms vs engine "
            f"{engine:.0f} ms ({api - engine:+.0f} ms, x{api / engine if engine else 0:.2f})"
        )
    notes += [
        f"fake backend: {REPLY_TOKENS} tokens {TOKEN_DELAY_S * 1000:.0f} ms apart (a stream lasts >= "
        f"{REPLY_TOKENS * TOKEN_DELAY_S:.1f} s); events = chunk + done; one client process (aiohttp) opens all "
        f"{STREAMS} at once; uvicorn defaults (backlog 2048, no concurrency limit)",
        f"first token: {CHAT_MODEL}, c=1, API and engine alternating, max_tokens {TTFT_MAX_TOKENS}, temperature 0, "
        "same messages both sides; new prompt = a request number in front of each prompt; cached prompt = the "
        "same prompt every time; with so few samples p99 is the slowest; the API sends its headers with the first "
        "token (it waits for it, so errors before any token are HTTP errors)",
    ]
    return ScenarioResult(
        name="streaming",
        title=f"SSE: {STREAMS} concurrent streams on one worker (fake backend); time to first token, API vs engine",
        columns=[
            Column("target", "target"),
            Column("requests", "streams"),
            Column("done", "done"),
            Column("errors", "errors"),
            Column("total_s", "total s", "{:.2f}"),
            Column("events_per_s", "events/s", "{:.0f}"),
            Column("cpu_ms_per_stream", "cpu ms/stream", "{:.1f}"),
            Column("headers_p50_ms", "headers p50 ms", "{:.0f}"),
            Column("first_p50_ms", "1st chunk p50 ms", "{:.0f}"),
            Column("first_p99_ms", "1st chunk p99 ms", "{:.0f}"),
            Column("duration_p50_ms", "stream p50 ms", "{:.0f}"),
            Column("duration_p99_ms", "stream p99 ms", "{:.0f}"),
        ],
        rows=rows,
        checks=checks,
        notes=notes,
        raw={
            "runs": [
                {
                    "total_s": run.total_s,
                    "server_cpu_s": run.server_cpu_s,
                    "failures": [asdict(r) for r in run.results if not r.done][:20],
                }
                for run in many
            ],
            "first_token": {
                mode: {side: [asdict(r) for r in results] for side, results in by_side.items()}
                for mode, by_side in ttft.items()
            },
            "charges": charges,
            "expected_charges": expected,
        },
    )


def _first_failure(results: list[StreamResult]) -> str:
    failed = next((r for r in results if not r.done), None)
    return "" if failed is None else (failed.error or f"last event {failed.last_event}")


def _raise_fd_limit(wanted: int) -> str | None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return f"raised the open-file limit from {soft} to {target} for the client and the server"
