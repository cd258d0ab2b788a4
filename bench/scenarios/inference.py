"""Inference throughput (issue "Inference on local models"): two scenarios, each against a baseline
measured in the same run on the same machine.

embeddings  `POST /v1/embeddings`, one short sentence per request, at c=32 (and c=1) through the full
            API on one worker: `all-minilm-l6-v2` as configured (micro-batched) vs the same model
            registered again with `{"max_batch_size": 1}` (`all-minilm-l6-v2-unbatched`). Both
            models live in the same server process; targets interleaved. Targets (issue 17): the
            batcher never costs latency (c=1 p50 within 0.5 ms of batch size 1) and gains at
            load (c=32 req/s >= 1.0x batch size 1's).
chat        `POST /v1/chat/completions` on `smollm2-135m-instruct` through the API vs the same
            request sent straight to the llama.cpp engine the API spawned (its OpenAI-compatible
            server; address and key from the engine state file in a scratch ENGINE_RUNTIME_DIR).
            Same messages (the API's system prompt sent explicitly), temperature 0, fixed seed,
            max_tokens 64, the API's repeat penalty; non-streamed on both sides; at c=1 and c=2,
            interleaved rounds. Completion tokens/s from each answer's usage. Target: API >= 90%.

Run alone: `python bench/run.py --scenario embeddings --scenario chat [--quick]`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench.compare import LATENCY, THROUGHPUT, comparison_columns, comparison_row, cpu_ratio, throughput_ratio
from bench.config import BenchContext
from bench.inference_kit import (
    APP,
    CHAT_MODEL,
    READY_PATH,
    chat_defaults,
    engine_env,
    engine_stopped_after,
    expect_ok,
    first_token,
    no_errors,
    post_json,
    process_cpu_seconds,
    read_engine,
    scratch_store,
)
from bench.load_post import PostLoad, PostTarget
from bench.measure import Phase, measure, warm_up
from bench.outcome import Check, Column, ScenarioResult
from bench.servers import ServerSpec, running

# --- embeddings: micro-batching on vs off ---

EMBED_MODEL = "all-minilm-l6-v2"
BATCHED, UNBATCHED = "batched", "unbatched"
SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
MIN_BATCHING_GAIN = 1.0  # req/s at c=32, batched / batch size 1
MAX_ADDED_P50_MS = 0.5  # p50 at c=1, batched - batch size 1


@dataclass(frozen=True)
class EmbedTarget:
    name: str
    model: str
    backend: str
    config: dict[str, Any] | None  # None: the seeded row, as shipped
    diagnostic: bool = False  # full runs only; not judged


EMBED_TARGETS = [
    EmbedTarget(BATCHED, EMBED_MODEL, "local_embeddings", None),
    EmbedTarget(UNBATCHED, "all-minilm-l6-v2-unbatched", "local_embeddings", {"max_batch_size": 1}),
    # Diagnostics: onnxruntime on the calling thread (no intra-op pool, so no spinning threads), and
    # the endpoint on the fake backend (384 dimensions): the pipeline's own cost per request.
    EmbedTarget("batched-1thread", "bench-minilm-1thread", "local_embeddings", {"threads": 1}, True),
    EmbedTarget(
        "unbatched-1thread",
        "bench-minilm-unbatched-1thread",
        "local_embeddings",
        {"max_batch_size": 1, "threads": 1},
        True,
    ),
    EmbedTarget("pipeline-only", "bench-embed-fake", "fake", {}, True),
]


def run_embeddings(ctx: BenchContext) -> ScenarioResult:
    config = ctx.config
    defs = [t for t in EMBED_TARGETS if not (t.diagnostic and config.quick)]
    rows_to_add = [
        {"id": t.model, "kind": "embedding", "backend": t.backend, "config": t.config}
        for t in defs
        if t.config is not None
    ]
    store = scratch_store(ctx.scratch, "embeddings", tokens=config.tokens, models=rows_to_add)
    bodies = {}
    for target in defs:
        bodies[target.name] = ctx.scratch / f"embeddings-{target.name}.json"
        bodies[target.name].write_text(json.dumps({"model": target.model, "input": SENTENCE}))
    spec = ServerSpec("embeddings", APP, store.env, 1, READY_PATH)
    load = PostLoad(ctx.load)
    with running([spec], ctx.scratch) as servers:
        server = servers[spec.name]
        for name, body in bodies.items():
            data = expect_ok(
                post_json(server.port, "/v1/embeddings", json.loads(body.read_text()), token=first_token(store)),
                f"probe {name}",
            )["data"]
            if len(data["items"]) != 1 or len(data["items"][0]["embedding"]) != 384:
                raise RuntimeError(f"probe {name}: unexpected answer {str(data)[:200]}")
        targets = [
            PostTarget(name, server, "/v1/embeddings", store.tokens_file, body_file=body)
            for name, body in bodies.items()
        ]
        warm = warm_up(targets, load, Phase("warmup", config.concurrency, config.warmup_s))
        phases = [Phase(THROUGHPUT, config.concurrency, config.throughput_s), Phase(LATENCY, 1, config.latency_s)]
        stats = measure(targets, phases, rounds=config.rounds, load=load, settle_s=config.settle_s, label="embed")
    baselines = {"unbatched": stats[UNBATCHED]}
    rows = []
    for target in defs:
        row = comparison_row(target.name, stats[target.name], baselines)
        row.update(model=target.model, errors=row["errors"] + warm[target.name].errors)
        rows.append(row)
    columns = comparison_columns(config.concurrency, ["unbatched"], cpu_labels=["unbatched"])
    columns[1:1] = [Column("model", "model")]
    gain, gain_cpu = throughput_ratio(stats, BATCHED, UNBATCHED), cpu_ratio(stats, BATCHED, UNBATCHED)
    added = stats[BATCHED][LATENCY].p50_ms - stats[UNBATCHED][LATENCY].p50_ms
    checks = [
        no_errors("embeddings", [f"{row['target']}: {row['errors']}" for row in rows if row["errors"]]),
        Check(
            f"micro-batching >= {MIN_BATCHING_GAIN:.1f}x req/s of batch size 1 at c={config.concurrency}",
            gain >= MIN_BATCHING_GAIN,
            f"{gain:.2f}x (by CPU per request: {gain_cpu:.2f}x)",
        ),
        Check(
            f"micro-batching costs no latency alone: c=1 p50 within {MAX_ADDED_P50_MS} ms of batch size 1",
            added <= MAX_ADDED_P50_MS,
            f"{added:+.2f} ms ({stats[BATCHED][LATENCY].p50_ms:.2f} vs {stats[UNBATCHED][LATENCY].p50_ms:.2f} ms)",
        ),
    ]
    notes = [
        f"{len(SENTENCE.split())}-word sentence; {config.tokens} rotating tokens; default batching config "
        "(max_batch_size 32, no wait window, onnxruntime threads: its choice) vs {'max_batch_size': 1}; "
        "all models in one server process",
    ]
    if "batched-1thread" in stats:
        one, one_cpu = (
            throughput_ratio(stats, "batched-1thread", "unbatched-1thread"),
            cpu_ratio(stats, "batched-1thread", "unbatched-1thread"),
        )
        floor = stats["pipeline-only"][THROUGHPUT].cpu_ms_per_request
        notes.append(
            f"diagnostics: with threads 1, batched vs unbatched {one:.2f}x req/s ({one_cpu:.2f}x by CPU); "
            f"pipeline-only (fake backend, same 384-dim answer) costs {floor:.2f} ms CPU per request"
        )
    notes.append(f"load generator: {load.name}")
    return ScenarioResult(
        name="embeddings",
        title=(
            f"POST /v1/embeddings, one sentence per request: micro-batched vs batch size 1, one worker "
            f"(median of {config.rounds} interleaved rounds)"
        ),
        columns=columns,
        rows=rows,
        checks=checks,
        notes=notes,
        raw={
            "stats": {name: {phase: asdict(s) for phase, s in by_phase.items()} for name, by_phase in stats.items()},
            "warmup": {name: asdict(result) for name, result in warm.items()},
            "targets": [asdict(t) for t in defs],
            "sentence": SENTENCE,
        },
    )


# --- chat: tokens/s through the API vs the engine directly ---

API, ENGINE = "api", "engine"
MAX_TOKENS = 64
SEED = 42
MIN_API_SHARE = 0.90
PROMPTS = [
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in detail how a bicycle works, part by part.",
    "Describe the history of the printing press in as much detail as you can.",
    "Write a detailed recipe for baking bread at home, step by step.",
]
CONCURRENCIES = (1, 2)


@dataclass
class Batch:
    """`concurrency` requests sent at once to one side, and what they produced."""

    elapsed_s: float = 0.0
    tokens: list[int] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)  # prompt index -> answer
    errors: list[str] = field(default_factory=list)
    api_cpu_s: float = 0.0  # the API server process (not its engine child) during the batch
    engine_cpu_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return sum(self.tokens) / self.elapsed_s if self.elapsed_s else 0.0


@dataclass
class Pair:
    """One API batch and one engine batch, back to back, same prompts: their ratio is little
    disturbed by load that changes over seconds, which the medians over pairs then smooth."""

    concurrency: int
    api: Batch
    engine: Batch

    @property
    def ratio(self) -> float:
        return self.api.tokens_per_s / self.engine.tokens_per_s if self.engine.tokens_per_s else 0.0


class ChatSides:
    """The same request, two ways: through the API (envelope), and straight to the engine."""

    def __init__(self, api_base: str, api_token: str, engine_base: str, engine_headers: dict[str, str]) -> None:
        self.system_prompt, self.repeat_penalty = chat_defaults()
        self.urls = {API: api_base + "/v1/chat/completions", ENGINE: engine_base + "/v1/chat/completions"}
        self.headers = {API: {"Authorization": f"Bearer {api_token}"}, ENGINE: engine_headers}
        self.pids: tuple[int, int] | None = None  # (API server, engine): CPU accounting when set
        self._requests = itertools.count(1)

    def body(
        self, side: str, prompt_index: int, *, stream: bool = False, max_tokens: int = MAX_TOKENS, fresh: bool = True
    ) -> dict:
        """`fresh`: a request number in front of the prompt, so that no request finds its prompt in
        the engine's cache because the other side just sent the same one (which would favour
        whichever side goes second by the prompt's processing time)."""
        prompt = PROMPTS[prompt_index % len(PROMPTS)]
        if fresh:
            prompt = f"Request {next(self._requests)}. {prompt}"
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": prompt}]
        body: dict[str, Any] = {
            "model": CHAT_MODEL,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "seed": SEED,
            "stream": stream,
        }
        if side == ENGINE:
            body["repeat_penalty"] = self.repeat_penalty  # what the API adds (its `extra_body`)
            if stream:
                body["stream_options"] = {"include_usage": True}
        return body

    async def one(
        self, session: aiohttp.ClientSession, side: str, prompt_index: int, batch: Batch, *, fresh: bool = True
    ) -> None:
        body = self.body(side, prompt_index, fresh=fresh)
        started = time.perf_counter()
        try:
            async with session.post(self.urls[side], json=body, headers=self.headers[side]) as response:
                payload = await response.json(content_type=None)
                if response.status != 200:
                    batch.errors.append(f"{side} {response.status}: {str(payload)[:120]}")
                    return
        except (aiohttp.ClientError, TimeoutError) as exc:
            batch.errors.append(f"{side} {type(exc).__name__}")
            return
        batch.latencies_s.append(time.perf_counter() - started)
        data = payload["data"] if side == API else payload
        batch.tokens.append(int(data["usage"]["completion_tokens"]))
        batch.texts[prompt_index % len(PROMPTS)] = data["choices"][0]["message"]["content"]

    async def batch(
        self, session: aiohttp.ClientSession, side: str, concurrency: int, offset: int, *, fresh: bool = True
    ) -> Batch:
        result = Batch()
        cpu_before = self._cpu()
        started = time.perf_counter()
        await asyncio.gather(*(self.one(session, side, offset + i, result, fresh=fresh) for i in range(concurrency)))
        result.elapsed_s = time.perf_counter() - started
        cpu_after = self._cpu()
        result.api_cpu_s, result.engine_cpu_s = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
        return result

    def _cpu(self) -> tuple[float, float]:
        if self.pids is None:
            return 0.0, 0.0
        return process_cpu_seconds(self.pids[0]), process_cpu_seconds(self.pids[1])


def run_chat(ctx: BenchContext) -> ScenarioResult:
    config = ctx.config
    pairs_per_concurrency, budget_s = (3, 30.0) if config.quick else (8, 80.0)
    store = scratch_store(ctx.scratch, "chat", tokens=1)
    with engine_stopped_after(ctx.scratch / "chat" / "engine") as runtime_dir:
        spec = ServerSpec("chat", APP, engine_env(store, runtime_dir), 1, READY_PATH)
        with running([spec], ctx.scratch) as servers:
            server = servers[spec.name]
            # The first chat request starts the engine (the model loads in a few seconds).
            probe = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
            expect_ok(post_json(server.port, "/v1/chat/completions", probe, token=first_token(store)), "chat probe")
            engine = read_engine(runtime_dir)
            sides = ChatSides(server.url(""), first_token(store), engine.base_url, engine.headers)
            if server.process is not None:
                sides.pids = (server.process.pid, engine.pid)
            warm, pairs = asyncio.run(_measure_chat(sides, pairs_per_concurrency, budget_s))
    return _chat_result(warm, pairs, engine.base_url)


async def _measure_chat(sides: ChatSides, count: int, budget_s: float) -> tuple[dict[str, Batch], list[Pair]]:
    """`count` pairs per concurrency, fewer when the machine is so loaded that they would take
    more than `budget_s` (llama.cpp slows down by 10x and more when other processes take its cores)."""
    timeout = aiohttp.ClientTimeout(total=300)
    pairs: list[Pair] = []
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=16)) as session:
        # Warm-up: every prompt as is, on both sides; their answers must be the same text.
        warm = {side: await sides.batch(session, side, len(PROMPTS), 0, fresh=False) for side in (API, ENGINE)}
        deadline = time.monotonic() + budget_s
        for index in range(count):
            if index >= 2 and time.monotonic() > deadline:
                print(f"  chat: time budget spent after {index} pairs per concurrency", file=sys.stderr)
                break
            for concurrency in CONCURRENCIES:
                order = (API, ENGINE) if index % 2 == 0 else (ENGINE, API)
                batches = {side: await sides.batch(session, side, concurrency, offset=index) for side in order}
                pair = Pair(concurrency, batches[API], batches[ENGINE])
                pairs.append(pair)
                print(
                    f"  chat pair {index + 1}/{count} c={concurrency}: api {pair.api.tokens_per_s:6.1f} tok/s, "
                    f"engine {pair.engine.tokens_per_s:6.1f} tok/s, ratio {pair.ratio:.2f}"
                    f"  errors {len(pair.api.errors) + len(pair.engine.errors)}",
                    file=sys.stderr,
                    flush=True,
                )
    return warm, pairs


def _chat_result(warm: dict[str, Batch], pairs: list[Pair], engine_url: str) -> ScenarioResult:
    rows, checks, notes = [], [], []
    errors = [e for batch in [*warm.values(), *(b for p in pairs for b in (p.api, p.engine))] for e in batch.errors]
    for c in CONCURRENCIES:
        mine = [pair for pair in pairs if pair.concurrency == c]
        ratio = statistics.median(pair.ratio for pair in mine)
        batches = {API: [pair.api for pair in mine], ENGINE: [pair.engine for pair in mine]}
        reached = sum(1 for pair in mine if pair.ratio >= MIN_API_SHARE)
        for side, runs in batches.items():
            tokens = [t for b in runs for t in b.tokens]
            latencies = [s for b in runs for s in b.latencies_s]
            rates = [b.tokens_per_s for b in runs]
            requests = max(1, len(tokens))
            rows.append(
                {
                    "target": side,
                    "concurrency": c,
                    "requests": len(tokens),
                    "tokens_per_s": statistics.median(rates),
                    "tokens_per_s_min": min(rates),
                    "tokens_per_s_max": max(rates),
                    "tokens_per_request": statistics.mean(tokens) if tokens else 0.0,
                    "latency_p50_ms": 1000 * statistics.median(latencies) if latencies else None,
                    "api_cpu_ms": 1000 * sum(b.api_cpu_s for b in runs) / requests if side == API else None,
                    "engine_cpu_ms_per_token": 1000 * sum(b.engine_cpu_s for b in runs) / max(1, sum(tokens)),
                    "errors": sum(len(b.errors) for b in runs),
                    "x_engine": ratio if side == API else None,
                }
            )
        checks.append(
            Check(
                f"API >= {MIN_API_SHARE:.0%} of the engine's completion tokens/s (c={c})",
                ratio >= MIN_API_SHARE,
                f"{ratio:.1%} (median of {len(mine)} paired ratios; {reached} of {len(mine)} pairs reach it)",
            )
        )
        if sum(t for b in batches[API] for t in b.tokens) != sum(t for b in batches[ENGINE] for t in b.tokens):
            notes.append(
                f"c={c}: the sides generated slightly different token counts (tokens/req): each measured prompt "
                "carries its own request number, so an answer can end before max_tokens; tokens/s counts what "
                "each side generated"
            )
    checks.insert(0, no_errors("chat", errors[:5]))
    same = sum(1 for i, text in warm[API].texts.items() if warm[ENGINE].texts.get(i) == text)
    notes += [
        f"{MAX_TOKENS} max tokens, temperature 0, seed {SEED}, {len(PROMPTS)} prompts rotated; non-streamed on both "
        "sides (the API streams from the engine internally). A pair = c requests at once to the API, then the same "
        "to the engine (order alternating); tokens/s = completion tokens / the batch's wall time; "
        "x engine = median over pairs of API tokens/s / engine tokens/s",
        f"identical answers through the API and from the engine (warm-up, same prompts): {same} of {len(PROMPTS)}",
        "every measured request carries a unique request number, so neither side gets the other's prompt cache",
        "api cpu ms/req: CPU of the API server process alone (not the engine) per request; engine cpu ms/token: "
        "the engine's CPU per generated token, on each side (the engine does the same work both ways)",
        f"engine: llama.cpp (xllamacpp) spawned by the API server at {engine_url}, 2 slots, threads: its choice",
    ]
    return ScenarioResult(
        name="chat",
        title=f"Chat completion tokens/s: through the API vs the llama.cpp engine directly ({CHAT_MODEL}, one worker)",
        columns=[
            Column("target", "target"),
            Column("concurrency", "c"),
            Column("requests", "requests"),
            Column("tokens_per_s", "tokens/s", "{:.1f}"),
            Column("tokens_per_s_min", "min", "{:.1f}"),
            Column("tokens_per_s_max", "max", "{:.1f}"),
            Column("tokens_per_request", "tokens/req", "{:.1f}"),
            Column("latency_p50_ms", "p50 ms", "{:.0f}"),
            Column("api_cpu_ms", "api cpu ms/req", "{:.1f}"),
            Column("engine_cpu_ms_per_token", "engine cpu ms/token", "{:.1f}"),
            Column("errors", "errors"),
            Column("x_engine", "x engine", "{:.3f}"),
        ],
        rows=rows,
        checks=checks,
        notes=notes,
        raw={
            "warmup": {side: asdict(batch) for side, batch in warm.items()},
            "pairs": [asdict(pair) for pair in pairs],
            "engine": engine_url,
        },
    )
