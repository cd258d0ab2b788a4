"""`make bench` / `python bench/run.py [--quick] [--scenario NAME ...]`: run scenarios, print
tables, write the JSON record. Exit status 1 when a blocking check failed (figures invalid)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import DEFAULT, QUICK, BenchConfig, BenchContext
from bench.load import load_generator
from bench.outcome import ScenarioResult
from bench.report import code_state, headline, machine, render, scenario_record, write
from bench.scenarios import registry


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~1 minute: 1 worker, short runs")
    parser.add_argument("--scenario", action="append", choices=sorted(registry()), help="repeatable; default all")
    parser.add_argument("--workers", help="comma-separated uvicorn worker counts, e.g. 1,2")
    parser.add_argument("--concurrency", type=int, help="connections in the throughput phase")
    parser.add_argument("--duration", type=int, help="seconds per throughput run (per round)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per target")
    parser.add_argument("--load", choices=["auto", "wrk", "python"], help="load generator (default auto)")
    parser.add_argument("--no-production", action="store_true", help="skip the PostgreSQL + Redis rows")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the scratch dir (server logs, DBs)")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> BenchConfig:
    config = QUICK if args.quick else DEFAULT
    overrides: dict[str, Any] = {
        "workers": tuple(int(w) for w in args.workers.split(",")) if args.workers else None,
        "concurrency": args.concurrency,
        "throughput_s": args.duration,
        "rounds": args.rounds,
        "load": args.load,
        "production": False if args.no_production else None,
    }
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    config = config_from(args)
    # SIGTERM (a CI timeout, `kill`) must still stop the servers and drop the scratch database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, run_id = time.monotonic(), datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scratch, info = Path(tempfile.mkdtemp(prefix="inference-bench-")), machine()
    try:
        context = BenchContext(config, load_generator(config.load), scratch)
        print(headline(info, context.load.name) + f"; scratch {scratch}", file=sys.stderr)
        results = [registry()[name](context) for name in args.scenario or list(registry())]
    finally:
        if not args.keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    document = record(run_id, config, info, context.load.name, results) | {
        "duration_s": round(time.monotonic() - started, 1)
    }
    for result in results:
        print(render(result) + "\n")
    print(f"bench: {document['duration_s']:.0f} s; wrote {write(document, run_id)} and latest.json")
    return 1 if any(not c.passed and c.blocking for r in results for c in r.checks) else 0


def record(run_id: str, config: BenchConfig, info: dict, load: str, results: list[ScenarioResult]) -> dict:
    return {
        "run_id": run_id,
        "machine": info | {"loadavg_at_end": os.getloadavg()},
        "code": code_state(),
        "load_generator": load,
        "config": asdict(config),
        "scenarios": {result.name: scenario_record(result) for result in results},
    }
