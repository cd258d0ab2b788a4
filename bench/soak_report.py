"""The soak's summary: traffic per kind of request, then each invariant with its numbers."""

from __future__ import annotations

import statistics
from collections import defaultdict

from bench.soak_checks import Check
from bench.soak_traffic import Record


def traffic_table(records: list[Record]) -> list[str]:
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    lines = [f"{'kind':12} {'requests':>8} {'2xx':>6} {'4xx':>6} {'5xx':>4} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}"]
    for kind, group in sorted(by_kind.items()):
        lines.append(_row(kind, group))
    lines.append(_row("all", records))
    return lines


def _row(kind: str, group: list[Record]) -> str:
    classes = [record.status // 100 for record in group]
    latencies = sorted((record.received - record.sent) * 1000 for record in group)
    p50 = statistics.median(latencies) if latencies else 0.0
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    counts = [classes.count(2), classes.count(4), classes.count(5), classes.count(0)]
    return (
        f"{kind:12} {len(group):>8} "
        + " ".join(f"{c:>{w}}" for c, w in zip(counts, (6, 6, 4, 6), strict=True))
        + (f" {p50:>7.1f} {p99:>7.1f}")
    )


def print_report(header: str, records: list[Record], checks: list[Check], notes: list[str]) -> None:
    print(header)
    for line in traffic_table(records):
        print("  " + line)
    print("invariants")
    for check in checks:
        print(f"  {'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    for note in notes:
        print(f"  note: {note}")
