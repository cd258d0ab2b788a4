"""The README's quick start, run exactly as written: its ```python blocks under "## Quick start",
each in a fresh interpreter, with the environment a reader sets (API_TOKEN, API_BASE_URL)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .server import BASE_URL, TOKENS

README = Path(__file__).resolve().parents[2] / "README.md"


def quick_start_blocks() -> list[str]:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_quick_start_has_a_sync_and_an_async_example():
    blocks = quick_start_blocks()

    assert len(blocks) == 2
    assert "Client()" in blocks[0] and "AsyncClient()" in blocks[1]


@pytest.mark.parametrize("index", [0, 1])
def test_the_quick_start_runs_as_written(index: int, tmp_path: Path):
    script = tmp_path / "hello.py"
    script.write_text(quick_start_blocks()[index])
    env = {**os.environ, "API_TOKEN": TOKENS["main"], "API_BASE_URL": BASE_URL}

    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip(), "it printed the model's answer"
    if index == 0:
        assert re.search(r"^tokens: \d+$", run.stdout, flags=re.MULTILINE), run.stdout
