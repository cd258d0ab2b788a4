"""How long `/health/live` and `/health/ready` take at concurrency 1 on the embedded default
(docs/deploy.md, "Health checks": a balancer polls them every second; the target is under 5 ms).

A `make run` server (scripts/serve.sh) in a scratch VAR_DIR (fresh SQLite, the seeded local models,
local-memory cache) on a free loopback port; readiness is polled until the local chat engine has
started, then each path is asked `--requests` times, one after another, on one keep-alive
connection. `GET /v1/openapi.json` (the lean handler and the pipeline, no token) is measured in the
same run as the baseline, with the anonymous limit raised so that it is never a 429.

    .venv/bin/python bench/health.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "health.json"
TARGET_MS = 5.0
PATHS = ("/health/live", "/health/ready", "/v1/openapi.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-health-"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "VAR_DIR": str(scratch),
        "ENGINE_RUNTIME_DIR": str(scratch / "engine"),
        "DJANGO_SETTINGS_MODULE": "inference_platform.settings.local",
        "RATE_LIMIT_ANONYMOUS_PER_SECOND": "1000000",  # the baseline path is asked without a token
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        ["bash", "scripts/serve.sh", "--log-level", "warning"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        start_new_session=True,
    )
    try:
        connection = _wait_until_ready(port, server)
        figures = {path: _measure(connection, path, args.requests) for path in PATHS}
        connection.close()
    finally:
        stop_process(server)
        _stop_engine(python, env)
        shutil.rmtree(scratch, ignore_errors=True)

    report = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": os.getloadavg(),
        "requests_per_path": args.requests,
        "target_ms": TARGET_MS,
        "figures_ms": figures,
        "ready_vs_openapi_median": round(figures["/health/ready"]["median"] / figures["/v1/openapi.json"]["median"], 2),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    for path, figure in figures.items():
        print(f"{path:20} median {figure['median']:.2f} ms  p95 {figure['p95']:.2f} ms  p99 {figure['p99']:.2f} ms")
    print(f"/health/ready median vs /v1/openapi.json: {report['ready_vs_openapi_median']}x")
    ready = figures["/health/ready"]["median"]
    print(f"{'PASS' if ready < TARGET_MS else 'FAIL'}: /health/ready median {ready:.2f} ms (target < {TARGET_MS} ms)")


def _wait_until_ready(port: int, server: subprocess.Popen[bytes], timeout_s: float = 120) -> http.client.HTTPConnection:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health/ready")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return connection
            connection.close()
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server was not ready in time")


def _measure(connection: http.client.HTTPConnection, path: str, requests: int) -> dict[str, float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        timings.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    timings.sort()
    return {
        "median": round(statistics.median(timings), 3),
        "p95": round(timings[int(len(timings) * 0.95)], 3),
        "p99": round(timings[int(len(timings) * 0.99)], 3),
    }


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and nothing else
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _stop_engine(python: str, env: dict[str, str]) -> None:
    # The engine outlives the server only for its idle period; stop it now, by the pid in its lock.
    code = (
        "from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor; "
        "EngineSupervisor(EngineSpec()).stop()"
    )
    subprocess.run([python, "-c", code], cwd=ROOT, env=env, check=False)


if __name__ == "__main__":
    main()
