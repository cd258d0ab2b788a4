"""Interleaved measurement: every target is loaded in turn, round after round, and each figure is
the median over rounds. On a shared, noisy machine this spreads a slow spell over all targets
instead of letting it land on one of them."""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.load import LoadGenerator, LoadResult, LoadSpec
from bench.servers import Server


@dataclass(frozen=True)
class Phase:
    name: str
    concurrency: int
    duration_s: int


@dataclass(frozen=True)
class Target:
    name: str
    server: Server
    path: str
    tokens_file: Path | None = None

    def spec(self, phase: Phase) -> LoadSpec:
        return LoadSpec(self.server.url(self.path), phase.concurrency, phase.duration_s, self.tokens_file)


@dataclass(frozen=True)
class PhaseStats:
    rps: float  # medians over rounds
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_ms_per_request: float  # server CPU (all its processes) / requests
    rps_min: float  # spread over rounds: how noisy the machine was
    rps_max: float
    requests: int  # totals over rounds
    status_errors: int
    socket_errors: int
    rounds: int
    cpu_ms_by_round: tuple[float, ...] = ()  # in round order: targets run back to back pair up by index

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors


@dataclass(frozen=True)
class Sample:
    load: LoadResult
    cpu_s: float  # server CPU seconds during the run

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / max(1, self.load.requests)


def summarize(samples: list[Sample]) -> PhaseStats:
    def median(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    results = [s.load for s in samples]
    rates = [r.rps for r in results]
    return PhaseStats(
        rps=median(rates),
        p50_ms=median([r.p50_ms for r in results]),
        p99_ms=median([r.p99_ms for r in results]),
        mean_ms=median([r.mean_ms for r in results]),
        cpu_ms_per_request=median([s.cpu_ms_per_request for s in samples]),
        rps_min=round(min(rates), 1),
        rps_max=round(max(rates), 1),
        requests=sum(r.requests for r in results),
        status_errors=sum(r.status_errors for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        rounds=len(results),
        cpu_ms_by_round=tuple(round(s.cpu_ms_per_request, 3) for s in samples),
    )


def warm_up(targets: list[Target], load: LoadGenerator, phase: Phase) -> dict[str, LoadResult]:
    """Fill caches, start every worker's connections and threads; the figures are kept only for
    the error check."""
    return {target.name: load.run(target.spec(phase)) for target in targets}


def measure(
    targets: list[Target], phases: list[Phase], *, rounds: int, load: LoadGenerator, settle_s: float, label: str
) -> dict[str, dict[str, PhaseStats]]:
    samples: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    for round_index in range(rounds):
        # Rotate the order each round so no target always runs first (or right after another's log flush).
        shift = round_index % len(targets)
        for phase in phases:
            for target in targets[shift:] + targets[:shift]:
                sample = run_one(target, phase, load)
                samples[target.name][phase.name].append(sample)
                _progress(f"{label} round {round_index + 1}/{rounds} {phase.name:>10} {target.name}", sample)
                time.sleep(settle_s)  # let background work (request-log flushes) finish first
    return {name: {phase: summarize(runs) for phase, runs in by_phase.items()} for name, by_phase in samples.items()}


def run_one(target: Target, phase: Phase, load: LoadGenerator) -> Sample:
    cpu_before = target.server.cpu_seconds()
    result = load.run(target.spec(phase))
    return Sample(result, target.server.cpu_seconds() - cpu_before)


def _progress(what: str, sample: Sample) -> None:
    result = sample.load
    print(
        f"  {what:<50} {result.rps:>7.0f} req/s  p50 {result.p50_ms:6.2f}  p99 {result.p99_ms:6.2f} ms"
        f"  cpu {sample.cpu_ms_per_request:5.2f} ms/req  errors {result.errors}",
        file=sys.stderr,
        flush=True,
    )
