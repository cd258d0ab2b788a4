"""What one `make bench` run does: durations, concurrency, worker counts. `--quick` shrinks it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from bench.load import LoadGenerator


@dataclass(frozen=True)
class BenchConfig:
    workers: tuple[int, ...] = (1, 2)
    concurrency: int = 32  # throughput phase; the latency phase always uses 1
    warmup_s: int = 2
    throughput_s: int = 3  # per round
    latency_s: int = 2  # per round
    rounds: int = 3
    settle_s: float = 0.5  # pause between runs
    tokens: int = 64
    production: bool = True  # add PostgreSQL + Redis rows when reachable
    load: str = "auto"  # auto | wrk | python
    quick: bool = False


DEFAULT = BenchConfig()  # ~4-5 minutes on 2 cores
QUICK = replace(DEFAULT, workers=(1,), warmup_s=1, throughput_s=2, latency_s=1, rounds=2, settle_s=0.3, quick=True)


@dataclass(frozen=True)
class BenchContext:
    """What every scenario gets: the configuration, the load generator, a scratch directory."""

    config: BenchConfig
    load: LoadGenerator
    scratch: Path
