"""The printed table and the JSON record (`bench/results/<UTC timestamp>.json` and `latest.json`)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.outcome import Column, ScenarioResult

RESULTS_DIR = Path(__file__).parent / "results"
PACKAGES = ("Django", "djangorestframework", "uvicorn", "channels", "django-ratelimit")


def machine() -> dict[str, Any]:
    """Enough to tell two runs' machines apart; the figures only compare within one run."""
    return {
        "cpu": _first_value("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(_first_value("/proc/meminfo", "MemTotal").split()[0]) / 2**20, 1),
        "loadavg_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in PACKAGES},
    }


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and how many files differed from it (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=RESULTS_DIR.parent.parent)
        return done.stdout.strip() if done.returncode == 0 else ""

    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD") or None, "changed_files": len(status.splitlines())}


def headline(info: dict[str, Any], load: str) -> str:
    load_avg = " ".join(f"{x:.2f}" for x in info["loadavg_at_start"])
    return f"bench: {info['cores']} x {info['cpu']}, {info['memory_gib']} GiB, load {load_avg}; load generator {load}"


def _first_value(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def render(result: ScenarioResult) -> str:
    lines = [f"== {result.name}: {result.title}", table(result.columns, result.rows), ""]
    lines += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in result.checks]
    lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    cells = [[c.header for c in columns]] + [[_cell(c, row.get(c.key)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    # Text left, numbers right: the first two columns are names.
    fmt = [(str.ljust if i < 2 else str.rjust) for i in range(len(columns))]
    out = ["  ".join(f(cell, w) for f, cell, w in zip(fmt, line, widths, strict=True)) for line in cells]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _cell(column: Column, value: Any) -> str:
    return "-" if value is None else column.fmt.format(value)


def write(document: dict[str, Any], run_id: str, results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, default=str) + "\n"
    path = results_dir / f"{run_id}.json"
    path.write_text(text)
    (results_dir / "latest.json").write_text(text)
    return path


def scenario_record(result: ScenarioResult) -> dict[str, Any]:
    return {
        "title": result.title,
        "rows": result.rows,
        "checks": [asdict(check) for check in result.checks],
        "notes": result.notes,
        "raw": result.raw,
    }
