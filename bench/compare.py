"""Targets against baselines measured in the same run: the ratios and deltas the report shows.

Throughput ratio: target req/s / baseline req/s at the throughput phase's concurrency.
Added latency: target p50 - baseline p50 at c=1, where nothing queues, so the difference is
the time the target's own code adds to one request.
CPU ratio: baseline CPU ms per request / target CPU ms per request, the throughput ratio a
saturated server would show, far less disturbed by other load on a shared machine.
"""

from __future__ import annotations

from typing import Any

from bench.measure import PhaseStats
from bench.outcome import Column

THROUGHPUT, LATENCY = "throughput", "latency"

Stats = dict[str, PhaseStats]  # phase name -> stats of one target


def comparison_row(name: str, stats: Stats, baselines: dict[str, Stats]) -> dict[str, Any]:
    high, one = stats[THROUGHPUT], stats[LATENCY]
    row: dict[str, Any] = {
        "target": name,
        "rps": high.rps,
        "p50_ms": high.p50_ms,
        "p99_ms": high.p99_ms,
        "c1_p50_ms": one.p50_ms,
        "c1_p99_ms": one.p99_ms,
        "cpu_ms": high.cpu_ms_per_request,
        "errors": high.errors + one.errors,
    }
    for label, base in baselines.items():
        row[f"x_{label}"] = _ratio(high.rps, base[THROUGHPUT].rps)
        row[f"x_{label}_cpu"] = _ratio(base[THROUGHPUT].cpu_ms_per_request, high.cpu_ms_per_request)
        row[f"added_ms_{label}"] = round(one.p50_ms - base[LATENCY].p50_ms, 3)
    return row


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def comparison_columns(concurrency: int, labels: list[str], cpu_labels: list[str]) -> list[Column]:
    columns = [
        Column("target", "target"),
        Column("rps", f"req/s c={concurrency}", "{:.0f}"),
        Column("p50_ms", "p50 ms", "{:.2f}"),
        Column("p99_ms", "p99 ms", "{:.2f}"),
        Column("errors", "errors"),
        Column("c1_p50_ms", "c=1 p50", "{:.2f}"),
        Column("c1_p99_ms", "c=1 p99", "{:.2f}"),
        Column("cpu_ms", "cpu ms/req", "{:.2f}"),
    ]
    columns += [Column(f"x_{label}", f"x {label}", "{:.2f}") for label in labels]
    columns += [Column(f"x_{label}_cpu", f"x {label} cpu", "{:.2f}") for label in cpu_labels]
    columns += [Column(f"added_ms_{label}", f"+ms {label}", "{:+.2f}") for label in labels]
    return columns


def throughput_ratio(stats: dict[str, Stats], target: str, baseline: str) -> float:
    base = stats[baseline][THROUGHPUT].rps
    return stats[target][THROUGHPUT].rps / base if base else 0.0


def cpu_ratio(stats: dict[str, Stats], target: str, baseline: str) -> float:
    """baseline CPU per request / target CPU per request: the saturated throughput ratio."""
    cost = stats[target][THROUGHPUT].cpu_ms_per_request
    return stats[baseline][THROUGHPUT].cpu_ms_per_request / cost if cost else 0.0
