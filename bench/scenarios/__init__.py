"""The scenarios `bench/run.py` can run, by name. A scenario is a function of the bench context
returning a `ScenarioResult`; add one by adding a module here and a line to `registry()`."""

from __future__ import annotations

from collections.abc import Callable

from bench.config import BenchContext
from bench.outcome import ScenarioResult

Scenario = Callable[[BenchContext], ScenarioResult]


def registry() -> dict[str, Scenario]:
    from bench.scenarios import foundation

    return {"foundation": foundation.run}
