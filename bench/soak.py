"""`make soak`: mixed traffic against 2 uvicorn workers and a batch worker on PostgreSQL + Redis for
a bounded time, with Redis killed and restarted part-way (bench/soak_outage.py), then the
invariants that must hold (bench/soak_checks.py). Exit status 1 if one does not.

    .venv/bin/python bench/soak.py [--seconds 60] [--workers 2] [--no-real-models] [--no-cache-outage]

Nothing touches the developer's stores: a scratch PostgreSQL database on the local server (dropped
at the end) and a redis-server of its own (killed by PID); servers, the batch worker, the chat engine
and Redis are all stopped by PID. Loopback only. See docs/reliability.md for what it found.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (`python bench/soak.py`): make the repository root importable as for `-m`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import ServerSpec, batch_worker, running
from bench.soak_checks import read_database, run_checks, wait_for_batches
from bench.soak_outage import Outage, cache_outage
from bench.soak_report import print_report
from bench.soak_stores import soak_stores
from bench.soak_traffic import run_traffic

# After the traffic, the batch worker finishes the batches it created (each a few short chats).
BATCH_DRAIN_S = 60.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the traffic runs (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--no-real-models", action="store_true", help="fake backend only (no llama.cpp, no ONNX)")
    parser.add_argument("--no-cache-outage", action="store_true", help="keep Redis up the whole time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        options = {"workers": args.workers, "real_models": not args.no_real_models, "outage": not args.no_cache_outage}
        return soak(Path(scratch), seconds=args.seconds, **options)


def soak(scratch: Path, *, seconds: float, workers: int, real_models: bool, outage: bool) -> int:
    started = time.monotonic()
    with soak_stores(scratch) as stores:
        spec = ServerSpec("soak", "inference_platform.asgi:application", stores.env, workers, "/v1/openapi.json")
        try:
            with running([spec], scratch) as servers, batch_worker(stores.env, scratch / "worker.log"):
                # Redis down from 40% to 60% of the traffic (docs/reliability.md, "Soak").
                phase, outage_thread = (
                    cache_outage(stores.redis, after_s=seconds * 0.4, for_s=seconds * 0.2)
                    if outage
                    else (Outage(), None)
                )
                traffic = asyncio.run(
                    run_traffic(
                        servers["soak"].url(""),
                        tokens=stores.tokens,
                        limits=stores.limits,
                        seconds=seconds,
                        real_models=real_models,
                    )
                )
                if outage_thread is not None:
                    outage_thread.join()
                batches_settled = wait_for_batches(stores.database_url, timeout_s=BATCH_DRAIN_S)
            # The servers stopped gracefully: their request logs are flushed, noise buckets included.
            stored = read_database(stores.database_url)
        finally:
            _stop_engine(scratch)
    checks = run_checks(
        traffic.records,
        stored,
        stores.limits,
        batches_served=bool(traffic.batches_served),
        outage=phase,
        workers=workers,
    )
    if not batches_settled:
        print(f"soak: batches still open {BATCH_DRAIN_S:.0f} s after the traffic stopped", file=sys.stderr)
    rate = len(traffic.records) / seconds
    header = (
        f"soak: {seconds:.0f} s of traffic, {workers} uvicorn workers, PostgreSQL + Redis, "
        f"{len(traffic.records)} requests ({rate:.0f}/s); {time.monotonic() - started:.0f} s in all"
    )
    notes = [] if traffic.batches_served else ["/v1/batches is not served by this build: no batch traffic"]
    print_report(header, traffic.records, checks, notes)
    return 0 if all(check.passed for check in checks) else 1


def _stop_engine(scratch: Path) -> None:
    """The chat engine a worker started outlives the workers by its idle time: stop it by PID now."""
    from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor

    runtime = scratch / "engine"
    if runtime.exists():
        EngineSupervisor(EngineSpec(runtime_dir=runtime)).stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
