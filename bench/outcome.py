"""What a scenario hands to the report: a table, pass/fail checks, notes, and the raw figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: str = "{}"  # applied to the value; None prints "-"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    # A failed blocking check means the figures are not valid (errors under load): exit status 1.
    # A failed target (say, a throughput ratio) is reported, and the run still succeeds.
    blocking: bool = False


@dataclass
class ScenarioResult:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # everything measured, for the JSON file
