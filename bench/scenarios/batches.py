"""Batches (issue "Batch inference jobs", item 8): items per second of a batch against the same work
sent as individual API requests, measured in the same run on the same server and worker.

Workloads (on the embedded store; on PostgreSQL + Redis too unless --no-production):
embeddings  1,000 one-sentence items on all-minilm-l6-v2 (the real model: micro-batched)
chat        50 chat items, max_tokens 16, on smollm2-135m-instruct (the real engine, 2 slots)
*-fake      the same counts on the deterministic fake backend: the machinery's own cost

"individual": the items as separate POSTs, BATCH_ITEM_CONCURRENCY at a time, keep-alive, a 503
retried after its Retry-After (as the SDK does).
"batch": one POST /v1/batches, then GET /v1/batches/{id} every 50 ms until it is terminal; one
`manage.py db_worker` process beside the server (BATCH_ITEM_CONCURRENCY items in flight).
Run alone: `python bench/run.py --scenario batches [--quick] [--no-production]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from bench.config import BenchContext
from bench.outcome import Check, Column, ScenarioResult
from bench.servers import ROOT, ServerSpec, batch_worker, running
from bench.stores import Store, embedded_store, production_store

APP = "inference_platform.asgi:application"
CONCURRENCY = 32  # the individual requests in flight; the worker's BATCH_ITEM_CONCURRENCY too
POLL_S = 0.05
TIMEOUT_S = 300.0
MAX_RETRIES = 120
FAKE_MODELS = {"bench-fake-chat": {"kind": "chat", "reply_tokens": 16}, "bench-fake-embed": {"kind": "embedding"}}


@dataclass(frozen=True)
class Workload:
    name: str
    endpoint: str
    count: int
    quick_count: int
    body: Callable[[int], dict[str, Any]]


def _embed(model: str) -> Callable[[int], dict[str, Any]]:
    return lambda i: {"model": model, "input": f"Sentence number {i} about batch inference on small machines."}


def _chat(model: str) -> Callable[[int], dict[str, Any]]:
    def body(i: int) -> dict[str, Any]:
        return {"model": model, "messages": [{"role": "user", "content": f"Name a colour ({i})."}], "max_tokens": 16}

    return body


WORKLOADS = [
    Workload("embeddings", "/v1/embeddings", 1000, 200, _embed("all-minilm-l6-v2")),
    Workload("chat", "/v1/chat/completions", 50, 10, _chat("smollm2-135m-instruct")),
    Workload("embeddings-fake", "/v1/embeddings", 1000, 200, _embed("bench-fake-embed")),
    Workload("chat-fake", "/v1/chat/completions", 50, 10, _chat("bench-fake-chat")),
]


def run(ctx: BenchContext) -> ScenarioResult:
    scratch = ctx.scratch / "batches"
    scratch.mkdir()
    notes = [f"{CONCURRENCY} individual requests in flight; {CONCURRENCY} batch items in flight"]
    with ExitStack() as stack:
        stores = [embedded_store(scratch, tokens=1)]
        if ctx.config.production:
            production = stack.enter_context(production_store(scratch, tokens=1))
            if isinstance(production, Store):
                stores.append(production)
            else:
                notes.append(production)
        rows = [row for store in stores for row in measure_store(ctx, store, scratch)]
    return ScenarioResult(
        name="batches",
        title="A batch vs the same items as individual requests (items per second, one worker process)",
        columns=[
            Column("workload", "workload"),
            Column("store", "store"),
            Column("items", "items"),
            Column("individual_s", "individual s", "{:.2f}"),
            Column("individual_rps", "individual items/s", "{:.1f}"),
            Column("batch_s", "batch s", "{:.2f}"),
            Column("batch_rps", "batch items/s", "{:.1f}"),
            Column("ratio", "batch / individual", "{:.2f}"),
            Column("errors", "errors"),
        ],
        rows=rows,
        checks=[_no_errors(rows)],
        notes=notes,
        raw={"rows": rows},
    )


def measure_store(ctx: BenchContext, store: Store, scratch: Path) -> list[dict[str, Any]]:
    # A chat engine of the run's own: a developer's server on this checkout must not share it.
    engine_dir = scratch / f"engine-{store.name}"
    env = store.with_env(
        BATCH_EMBEDDED_WORKER="0", BATCH_ITEM_CONCURRENCY=str(CONCURRENCY), ENGINE_RUNTIME_DIR=str(engine_dir)
    )
    _seed_fake_models(env)
    token = store.tokens_file.read_text().split()[0]
    spec = ServerSpec(f"batches-{store.name}", APP, env, 1, "/v1/models")
    try:
        with running([spec], scratch) as servers, batch_worker(env, scratch / f"worker-{store.name}.log"):
            base = servers[spec.name].url("")
            return [measure_workload(base, token, workload, ctx.config.quick, store.name) for workload in WORKLOADS]
    finally:
        EngineSupervisor(EngineSpec(runtime_dir=engine_dir)).stop()  # if one was started: now, by its pid


def measure_workload(base: str, token: str, workload: Workload, quick: bool, store: str) -> dict[str, Any]:
    count = workload.quick_count if quick else workload.count
    bodies = [workload.body(i) for i in range(count)]
    asyncio.run(_individual(base, token, workload.endpoint, bodies[:CONCURRENCY]))  # warm: models loaded
    individual_s, errors = asyncio.run(_timed_individual(base, token, workload.endpoint, bodies))
    batch_s, failed = asyncio.run(_timed_batch(base, token, workload.endpoint, bodies))
    print(f"bench: batches {workload.name} on {store}: {individual_s:.2f} s vs {batch_s:.2f} s", file=sys.stderr)
    return {
        "workload": workload.name,
        "store": store,
        "items": count,
        "individual_s": individual_s,
        "individual_rps": count / individual_s,
        "batch_s": batch_s,
        "batch_rps": count / batch_s,
        "ratio": individual_s / batch_s,
        "errors": errors + failed,
    }


async def _timed_individual(base: str, token: str, endpoint: str, bodies: list[dict[str, Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    statuses = await _individual(base, token, endpoint, bodies)
    return time.perf_counter() - started, sum(1 for status in statuses if status != 200)


async def _individual(base: str, token: str, endpoint: str, bodies: list[dict[str, Any]]) -> list[int]:
    """Each body as its own POST, CONCURRENCY at a time; a 503 is retried after its Retry-After,
    as the SDK does (the local chat engine admits only a few requests per process at once)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    async with _session(token) as session:

        async def one(body: dict[str, Any]) -> int:
            async with gate:
                for _ in range(MAX_RETRIES):
                    async with session.post(base + endpoint, json=body) as response:
                        await response.read()
                        if response.status != 503:
                            return response.status
                        retry_after = float(response.headers.get("Retry-After-Ms", 1000)) / 1000
                    await asyncio.sleep(retry_after)
                return 503

        return list(await asyncio.gather(*(one(body) for body in bodies)))


async def _timed_batch(base: str, token: str, endpoint: str, bodies: list[dict[str, Any]]) -> tuple[float, int]:
    requests = [{"custom_id": str(i), "endpoint": endpoint, "body": body} for i, body in enumerate(bodies)]
    async with _session(token) as session:
        started = time.perf_counter()
        async with session.post(base + "/v1/batches", json={"requests": requests}) as response:
            created = await response.json()
        if response.status != 201:
            raise RuntimeError(f"batch creation answered {response.status}: {str(created)[:300]}")
        batch = await _until_terminal(session, f"{base}/v1/batches/{created['data']['id']}")
        elapsed = time.perf_counter() - started
    counts = batch["counts"]
    return elapsed, counts["total"] - counts["completed"]


async def _until_terminal(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(url) as response:
            batch = (await response.json())["data"]
        if batch["status"] in ("completed", "failed", "cancelled"):
            return batch
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"batch not finished after {TIMEOUT_S:.0f} s: {url}")


def _session(token: str) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, headers={"Authorization": f"Bearer {token}"})


def _seed_fake_models(env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "bench.scenarios.batches", "--seed-fake-models"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"seeding the fake models failed:\n{done.stderr[-2000:]}")


def _no_errors(rows: list[dict[str, Any]]) -> Check:
    failing = [f"{row['workload']}/{row['store']}: {row['errors']}" for row in rows if row["errors"]]
    detail = "every item and request succeeded" if not failing else "errors: " + ", ".join(failing)
    return Check("no failed items or requests", not failing, detail, blocking=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed-fake-models", action="store_true", required=True)
    parser.parse_args()
    import django

    django.setup()
    from apps.models_registry.models import Model

    for model_id, spec in FAKE_MODELS.items():
        config = {key: value for key, value in spec.items() if key != "kind"}
        defaults = {"kind": spec["kind"], "backend": "fake", "config": config}
        Model.objects.update_or_create(id=model_id, defaults=defaults)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inference_platform.settings.production")
    main()
