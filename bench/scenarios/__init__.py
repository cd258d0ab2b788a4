"""The scenarios `bench/run.py` can run, by name. A scenario is a function of the bench context
returning a `ScenarioResult`; add one by adding a module here and a line to `registry()`."""

from __future__ import annotations

from collections.abc import Callable

from bench.config import BenchContext
from bench.outcome import ScenarioResult

Scenario = Callable[[BenchContext], ScenarioResult]


def registry() -> dict[str, Scenario]:
    from bench.scenarios import batches, foundation, idempotency, inference, proxy, streaming

    return {
        "foundation": foundation.run,
        "embeddings": inference.run_embeddings,
        "chat": inference.run_chat,
        "idempotency": idempotency.run,
        "streaming": streaming.run,
        "batches": batches.run,
        "proxy": proxy.run,
    }
