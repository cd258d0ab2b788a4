"""Latency percentiles from a histogram: counts under fixed bounds, as Prometheus keeps them.

The database only groups and sums (`latency_slot` puts each request in the slot of the first bound
it is under), so it works the same on SQLite and PostgreSQL; `latency_percentile` interpolates
inside the slot that holds the quantile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from django.db.models import Case, IntegerField, Value, When

LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000)


def latency_slot() -> Case:
    """The index of the first bound a latency is under; len(bounds) when above them all."""
    whens = [When(latency_ms__lte=bound, then=Value(i)) for i, bound in enumerate(LATENCY_BOUNDS_MS)]
    return Case(*whens, default=Value(len(LATENCY_BOUNDS_MS)), output_field=IntegerField())


@dataclass(slots=True)
class Tally:
    """What one time bucket adds up to, from its (status class, latency slot, has a token) groups."""

    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    slots: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))

    def add(self, row: Mapping[str, Any]) -> None:
        self.requests += row["requests"]
        if row["status_class"] == 4:
            self.client_errors += row["requests"]
        elif row["status_class"] == 5:
            self.server_errors += row["requests"]
        if row["timed"]:
            self.slots[row["slot"]] += row["requests"]

    @property
    def timed(self) -> int:
        return sum(self.slots)

    @property
    def under(self) -> tuple[int, ...]:
        """Cumulative: how many timed requests took at most each bound."""
        return tuple(accumulate(self.slots[:-1]))


def latency_percentile(under: Sequence[int], total: int, quantile: float) -> float | None:
    """Linear interpolation inside the histogram bucket holding the quantile (cf. Prometheus'
    histogram_quantile); past the last bound, the last bound."""
    if total <= 0:
        return None
    target = quantile * total
    lower_bound, lower_count = 0.0, 0
    for bound, count in zip(LATENCY_BOUNDS_MS, under, strict=True):
        if count >= target:
            fraction = (target - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * fraction
        lower_bound, lower_count = float(bound), count
    return float(LATENCY_BOUNDS_MS[-1])
