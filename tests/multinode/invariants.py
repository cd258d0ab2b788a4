"""What the database says after a scenario, and the checks every scenario shares."""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .load import Outcome

LOG_SETTLE_TIMEOUT_S = 10.0


class InvariantFailed(AssertionError):
    pass


@dataclass
class Report:
    """One scenario's figures and the invariants it checked (printed, and kept for docs/deploy.md)."""

    name: str
    figures: dict[str, object] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        (self.checks if ok else self.failures).append(what)

    def print(self) -> None:
        print(f"\n== {self.name}")
        for key, value in self.figures.items():
            print(f"   {key:<44} {value}")
        for what in self.checks:
            print(f"   ok    {what}")
        for what in self.failures:
            print(f"   FAIL  {what}")


def usage_request_ids(token_ids: Iterable[int], *, expected: int | None = None) -> list[str]:
    """The request ids charged to these tokens. A stream settles after its `done` event went out,
    so with `expected` this waits (bounded) until that many rows are there or no more arrive."""
    from apps.usage.models import UsageRecord

    ids = list(token_ids)
    deadline, previous = time.monotonic() + LOG_SETTLE_TIMEOUT_S, -1
    while True:
        charged = list(UsageRecord.objects.filter(token_id__in=ids).values_list("request_id", flat=True))
        if expected is None or len(charged) >= expected or len(charged) == previous:
            return charged
        if time.monotonic() > deadline:
            return charged
        previous = len(charged)
        time.sleep(1.0)


def logged_request_ids(request_ids: Iterable[str]) -> Counter[str]:
    """How many request-log rows each of these request ids has (waits for the buffered writers)."""
    from apps.request_logs.models import RequestLog

    wanted = [request_id for request_id in request_ids if request_id]
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + LOG_SETTLE_TIMEOUT_S
    previous = -1
    while time.monotonic() < deadline:
        counts = Counter()
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            counts.update(RequestLog.objects.filter(request_id__in=chunk).values_list("request_id", flat=True))
        if len(counts) == len(set(wanted)) or len(counts) == previous:
            break  # all there, or nothing more arrived in the last flush interval
        previous = len(counts)
        time.sleep(1.0)
    return counts


def latency_figures(outcomes: list[Outcome]) -> str:
    latencies = sorted(outcome.latency_s * 1000 for outcome in outcomes if outcome.status is not None)
    if len(latencies) < 2:
        return "-"
    p95 = latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
    return f"p50 {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms"


def by_node(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(sorted(Counter(outcome.node for outcome in outcomes).items()))


def shares(outcomes: list[Outcome]) -> dict[str, str]:
    counts = Counter(outcome.replica for outcome in outcomes if outcome.replica)
    total = sum(counts.values()) or 1
    return {replica: f"{count} ({count / total:.0%})" for replica, count in sorted(counts.items())}


def windows_spanned(outcomes: list[Outcome]) -> int:
    """Rate-limit windows (whole seconds) the requests could have been counted in."""
    return int(max(o.done for o in outcomes)) - int(min(o.sent for o in outcomes)) + 1


def check_one_usage_row_per_success(report: Report, outcomes: list[Outcome], token_ids: Iterable[int]) -> None:
    """Every success has exactly one usage row, and no usage row lacks its success (no charge lost,
    none doubled); usage.request_id is unique in the schema, so "one" is a set comparison."""
    successes = {outcome.request_id for outcome in outcomes if outcome.completed}
    charged = usage_request_ids(token_ids, expected=len(successes))
    report.figures["usage rows"] = len(charged)
    report.check(
        set(charged) == successes and len(charged) == len(successes),
        f"one usage row per success ({len(successes)} successes, {len(charged)} rows, "
        f"{len(successes - set(charged))} successes uncharged, {len(set(charged) - successes)} rows without one)",
    )


def check_log_rows(
    report: Report, outcomes: list[Outcome], *, allowed_missing: int = 0, why: str = "", label: str = ""
) -> None:
    # A replay answers with the original's X-Request-Id (docs/idempotency.md) and is logged under
    # an id of its own that the client never sees: only first executions can be looked up.
    answered = [outcome.request_id for outcome in outcomes if outcome.request_id and not outcome.replayed]
    counts = logged_request_ids(answered)
    missing_ids = sorted(set(answered) - set(counts))
    missing = len(missing_ids)
    if missing > allowed_missing:
        first = [o for o in outcomes if o.request_id in set(missing_ids[:3])]
        report.figures[f"request-log rows missing{label}: first"] = [
            f"{o.request_id} {o.node} status={o.status} sent={o.sent:.3f} done={o.done:.3f} key={o.key}" for o in first
        ]
    doubled = sum(1 for count in counts.values() if count > 1)
    report.figures[f"request-log rows missing{label}"] = f"{missing} of {len(set(answered))}"
    bound = f"<= {allowed_missing} ({why})" if why else f"<= {allowed_missing}"
    report.check(missing <= allowed_missing, f"request-log rows missing{label}: {missing} {bound}")
    report.check(doubled == 0, f"no request logged twice{label} ({doubled})")
