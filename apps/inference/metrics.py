"""Engine queue depth on /metrics: how many requests each kind of local engine holds right now."""

from __future__ import annotations

from apps.backends.registry import cached_backends


def engine_queue_depth() -> dict[tuple[str, ...], float]:
    depth: dict[tuple[str, ...], float] = {}
    for backend in cached_backends():
        admission = getattr(backend, "admission", None)  # local chat: requests in flight
        queued = admission.in_flight if admission is not None else getattr(backend, "queue_depth", None)
        if queued is not None:
            key = (type(backend).__name__,)
            depth[key] = depth.get(key, 0) + queued
    return depth
