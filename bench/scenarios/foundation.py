"""Foundation (issue "Foundation", item 10): `GET /v1/models` through the full pipeline, against
two floors measured in the same run on the same machine (docs/benchmarks.md):

raw-asgi        a bare ASGI app returning the same bytes (the physical floor)
django-floor    one async Django view on the lean `/v1/` handler, no DRF (the framework floor)
django-signals  the same view on Django's own `ASGIHandler.handle` (request signals, a thread per
                request): an async view as stock Django serves it, for scale
pipeline        the real app: token auth, rate limit, envelope, request log (embedded stores)
pipeline-static the real pipeline around an endpoint answering from memory (no query, no
                serializer): splits the pipeline's cost into shared machinery and endpoint work
pipeline-nolog  the real app with REQUEST_LOG_ENABLED=0: what the request log costs
pipeline-prod   the real app on PostgreSQL + Redis, when they are reachable

Each with 1 and 2 uvicorn workers, at high concurrency (throughput) and at c=1 (added latency).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.compare import (
    LATENCY,
    THROUGHPUT,
    comparison_columns,
    comparison_row,
    cpu_ratio,
    throughput_ratio,
)
from bench.config import BenchConfig, BenchContext
from bench.load import LoadResult
from bench.measure import Phase, PhaseStats, Target, measure, warm_up
from bench.outcome import Check, Column, ScenarioResult
from bench.servers import HttpAnswer, ServerSpec, http_get, running
from bench.stores import Store, embedded_store, production_store

PATH = "/v1/models"
APP = "inference_platform.asgi:application"
FLOOR_APP = "bench.django_floor.asgi:application"
SIGNALS_FLOOR_APP = "bench.django_floor.asgi:with_signals"
RAW, DJANGO, PIPELINE, PROD = "raw-asgi", "django-floor", "pipeline", "pipeline-prod"
STATIC, NOLOG, SIGNALS = "pipeline-static", "pipeline-nolog", "django-signals"
EMBEDDED, PRODUCTION = "sqlite+locmem", "postgres+redis"
STORE_OF = {RAW: "-", DJANGO: "-", SIGNALS: "-", PROD: PRODUCTION} | dict.fromkeys((PIPELINE, STATIC, NOLOG), EMBEDDED)
BASELINES = {"raw": RAW, "django": DJANGO}  # column label -> floor target
MIN_RATIO_TO_FRAMEWORK = 0.60  # acceptance: full pipeline >= 60% of the framework floor's req/s
MAX_LOG_COST = 0.10  # the request log may cost at most 10% of throughput

Expectation = Callable[[HttpAnswer], str | None]  # None when the answer is right, else the problem


@dataclass(frozen=True)
class TargetDef:
    spec: ServerSpec
    tokens_file: Path
    expect: Expectation


@dataclass(frozen=True)
class WorkersRun:
    stats: dict[str, dict[str, PhaseStats]]
    warmup: dict[str, LoadResult]


def run(ctx: BenchContext) -> ScenarioResult:
    with ExitStack() as stack:
        embedded = embedded_store(ctx.scratch, tokens=ctx.config.tokens)
        production = (
            stack.enter_context(production_store(ctx.scratch, tokens=ctx.config.tokens))
            if ctx.config.production
            else "production stores skipped (--no-production)"
        )
        prod_store = production if isinstance(production, Store) else None
        runs = {w: measure_workers(ctx, target_defs(embedded, prod_store, w), w) for w in ctx.config.workers}
    notes = [production] if isinstance(production, str) else list(production.notes)
    return result(ctx.config, runs, embedded, notes)


def target_defs(embedded: Store, production: Store | None, workers: int) -> list[TargetDef]:
    body, tokens = embedded.body_file, embedded.tokens_file
    with_body = embedded.with_env(BENCH_BODY_FILE=str(body))
    floor_env = with_body | {"DJANGO_SETTINGS_MODULE": "bench.django_floor.settings"}
    static_env = with_body | {"DJANGO_SETTINGS_MODULE": "bench.pipeline_static.settings"}

    def target(name: str, app: str, env: dict[str, str], expect: Expectation) -> TargetDef:
        return TargetDef(ServerSpec(name, app, env, workers, PATH), tokens, expect)

    defs = [
        target(RAW, "bench.raw_floor:app", with_body, same_bytes(body)),
        target(DJANGO, FLOOR_APP, floor_env, same_bytes(body)),
        target(SIGNALS, SIGNALS_FLOOR_APP, floor_env, same_bytes(body)),
        target(PIPELINE, APP, embedded.env, same_data(body)),
        target(STATIC, APP, static_env, same_data(body)),
        target(NOLOG, APP, embedded.with_env(REQUEST_LOG_ENABLED="0"), same_data(body)),
    ]
    if production is not None:
        spec = ServerSpec(PROD, APP, production.env, workers, PATH)
        defs.append(TargetDef(spec, production.tokens_file, same_data(production.body_file)))
    return defs


def same_bytes(body_file: Path) -> Expectation:
    expected = body_file.read_bytes()
    return lambda answer: (
        None if answer.status == 200 and answer.body == expected else f"{answer.status} {answer.body[:200]!r}"
    )


def same_data(body_file: Path) -> Expectation:
    """The pipeline's envelope carries a fresh request id and timestamp: compare `data` only, and
    check that the bench token really is unthrottled (or 429s would pollute the figures)."""
    expected = json.loads(body_file.read_bytes())["data"]

    def check(answer: HttpAnswer) -> str | None:
        if answer.status != 200 or json.loads(answer.body).get("data") != expected:
            return f"{answer.status} {answer.body[:200]!r}"
        if answer.headers.get("x-ratelimit-limit") != "1000000":
            return f"bench token is limited: X-RateLimit-Limit {answer.headers.get('x-ratelimit-limit')}"
        return None

    return check


def phases(config: BenchConfig) -> list[Phase]:
    return [Phase(THROUGHPUT, config.concurrency, config.throughput_s), Phase(LATENCY, 1, config.latency_s)]


def measure_workers(ctx: BenchContext, defs: list[TargetDef], workers: int) -> WorkersRun:
    config = ctx.config
    with running([d.spec for d in defs], ctx.scratch) as servers:
        for d in defs:
            token = d.tokens_file.read_text().split()[0]
            problem = d.expect(http_get(servers[d.spec.name].port, PATH, {"Authorization": f"Bearer {token}"}))
            if problem:
                raise RuntimeError(f"{d.spec.name} (workers={workers}) answered wrongly: {problem}")
        targets = [Target(d.spec.name, servers[d.spec.name], PATH, d.tokens_file) for d in defs]
        warm = warm_up(targets, ctx.load, Phase("warmup", config.concurrency, config.warmup_s))
        stats = measure(
            targets, phases(config), rounds=config.rounds, load=ctx.load, settle_s=config.settle_s, label=f"w={workers}"
        )
    return WorkersRun(stats, warm)


def result(config: BenchConfig, runs: dict[int, WorkersRun], embedded: Store, notes: list[str]) -> ScenarioResult:
    rows = [row for workers, run in runs.items() for row in table_rows(workers, run)]
    columns = comparison_columns(config.concurrency, list(BASELINES), cpu_labels=["django"])
    columns[1:1] = [Column("store", "store"), Column("workers", "w")]
    return ScenarioResult(
        name="foundation",
        title=f"GET {PATH}: full pipeline vs floors (median of {config.rounds} interleaved rounds)",
        columns=columns,
        rows=rows,
        checks=[no_errors(rows), *target_checks(runs)],
        notes=[
            *notes,
            *(
                f"{SIGNALS} CPU per request / pipeline's (w={w}): {cpu_ratio(run.stats, PIPELINE, SIGNALS):.2f}"
                for w, run in runs.items()
            ),
            f"response body: {embedded.body_file.stat().st_size} bytes, {config.tokens} rotating tokens",
        ],
        raw={"runs": {w: raw_figures(run) for w, run in runs.items()}},
    )


def table_rows(workers: int, run: WorkersRun) -> list[dict[str, Any]]:
    baselines = {label: run.stats[name] for label, name in BASELINES.items()}
    rows = []
    for name, stats in run.stats.items():
        row = comparison_row(name, stats, baselines)
        row.update(store=STORE_OF[name], workers=workers, errors=row["errors"] + run.warmup[name].errors)
        rows.append(row)
    return rows


def no_errors(rows: list[dict[str, Any]]) -> Check:
    """Figures that include 4xx/5xx or socket errors measure something else: the run is invalid."""
    failing = [f"{row['target']} w={row['workers']}: {row['errors']}" for row in rows if row["errors"]]
    detail = "every target answered every request with 2xx" if not failing else "errors: " + ", ".join(failing)
    return Check("no errors under load (non-2xx = 0)", not failing, detail, blocking=True)


def target_checks(runs: dict[int, WorkersRun]) -> list[Check]:
    """Judged on req/s as the acceptance criterion says; the CPU figure is shown beside it
    because it is the steadier of the two on a shared machine."""
    checks = []
    for workers, run in runs.items():
        ratio, by_cpu = throughput_ratio(run.stats, PIPELINE, DJANGO), cpu_ratio(run.stats, PIPELINE, DJANGO)
        name = f"pipeline >= {MIN_RATIO_TO_FRAMEWORK:.0%} of the framework floor's req/s (w={workers})"
        checks.append(Check(name, ratio >= MIN_RATIO_TO_FRAMEWORK, f"{ratio:.0%} (by CPU per request: {by_cpu:.0%})"))
        cost, cpu_cost = 1 - throughput_ratio(run.stats, PIPELINE, NOLOG), 1 - cpu_ratio(run.stats, PIPELINE, NOLOG)
        name = f"request log costs <= {MAX_LOG_COST:.0%} of throughput (w={workers})"
        checks.append(Check(name, cost <= MAX_LOG_COST, f"{cost:.1%} (by CPU per request: {cpu_cost:.1%})"))
    return checks


def raw_figures(run: WorkersRun) -> dict[str, Any]:
    return {
        name: {"warmup": asdict(run.warmup[name]), **{phase: asdict(s) for phase, s in stats.items()}}
        for name, stats in run.stats.items()
    }
