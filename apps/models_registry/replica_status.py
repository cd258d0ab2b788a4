"""What the Model admin shows about an `openai_compatible` model's replicas.

Health and in-flight counts live in each worker process (apps/backends/upstream_pool.py), so the
page shows the worker that served it, and says which one; /metrics has the counters of all workers.
"""

from __future__ import annotations

import os

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.registry import cached_backend
from apps.backends.upstream_config import replica_specs, upstream_problems
from apps.backends.upstream_pool import ReplicaSnapshot

from .models import Model

NOT_USED = "not used by this worker yet"


def replica_snapshots(model: Model) -> list[ReplicaSnapshot] | None:
    """The replicas as this worker sees them; None when no request has built the pool here yet."""
    backend = cached_backend(backend=model.backend, config=model.config)
    return backend.pool.snapshot() if isinstance(backend, OpenAICompatibleBackend) else None


def replica_summary(model: Model) -> str:
    """One line for the change list: "2/3 healthy, 5 in flight"."""
    if model.backend != Model.BackendName.OPENAI_COMPATIBLE:
        return "-"
    snapshots = replica_snapshots(model)
    if snapshots is None:
        return NOT_USED
    healthy = sum(1 for replica in snapshots if replica.health == "healthy")
    in_flight = sum(replica.in_flight for replica in snapshots)
    return f"{healthy}/{len(snapshots)} healthy, {in_flight} in flight"


def replica_table(model: Model) -> SafeString | str:
    if model.backend != Model.BackendName.OPENAI_COMPATIBLE:
        return "-"
    worker = f"worker pid {os.getpid()}"
    snapshots = replica_snapshots(model)
    if snapshots is None:
        configured = [] if upstream_problems(model.config) else replica_specs(model.config)
        urls = ", ".join(spec.url for spec in configured) or "none configured"
        return format_html("{} ({}). Replicas: {}", NOT_USED.capitalize(), worker, urls)
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                replica.url,
                _state(replica),
                replica.in_flight
                if replica.max_in_flight is None
                else f"{replica.in_flight} / {replica.max_in_flight}",
                f"{replica.weight:g}",
                replica.requests,
                replica.errors,
                replica.ejections,
                replica.last_error or "-",
            )
            for replica in snapshots
        ),
    )
    return format_html(
        '<table class="replica-states"><caption>As seen by {}; each worker keeps its own.</caption>'
        "<thead><tr><th>Replica</th><th>State</th><th>In flight</th><th>Weight</th><th>Requests</th>"
        "<th>Errors</th><th>Ejections</th><th>Last error</th></tr></thead><tbody>{}</tbody></table>",
        worker,
        rows,
    )


def _state(replica: ReplicaSnapshot) -> str:
    if replica.health == "ejected":
        return f"ejected {replica.ejected_for_s:.0f}s ago"
    return "healthy"


def _in_flight(replica: ReplicaSnapshot) -> str:
    cap = replica.max_in_flight
    return str(replica.in_flight) if cap is None else f"{replica.in_flight} / {cap}"
