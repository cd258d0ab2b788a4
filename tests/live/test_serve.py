"""`make run` serves where HOST and PORT say (README, "make run"): the test runs the very command
`make run` ends with (scripts/serve.sh), on a free port, as a user whose port 8000 is taken would."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port, server_env, server_process

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def make_run_recipe() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None, "no run target in the Makefile"
    return [line.strip() for line in recipe.group(1).splitlines()]


def test_make_run_ends_by_serving_with_the_serve_script():
    assert make_run_recipe()[-1].startswith("bash scripts/serve.sh")


def test_the_defaults_are_loopback_port_8000():
    script = (ROOT / "scripts" / "serve.sh").read_text()

    assert '--host "${HOST:-127.0.0.1}"' in script and '--port "${PORT:-8000}"' in script


def test_port_and_host_choose_where_it_serves():
    port = free_port()
    env = server_env({"PORT": str(port), "HOST": "127.0.0.1"})

    with server_process(["bash", "scripts/serve.sh", "--log-level", "warning"], port=port, env=env) as base:
        answer = httpx.get(f"{base}/health/live", timeout=5)

    assert base == f"http://127.0.0.1:{port}"
    assert answer.status_code == 200 and answer.json() == {"status": "alive"}
