"""Where a target's time goes: run one foundation or proxy target under load and sample it with py-spy.

    .venv/bin/pip install py-spy        # a profiling tool, not a project requirement
    .venv/bin/python bench/profile.py [--target pipeline] [--seconds 15] [--concurrency 32]
    .venv/bin/python bench/profile.py --scenario proxy --target chat     # non-streamed chat via the proxy

Prints the functions with the most samples (inclusive: on the stack; self: at the top) over all
threads, and writes the collapsed stacks to bench/results/profile-<target>-<timestamp>.txt for a
flame graph (speedscope.app or flamegraph.pl read them as they are).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import LoadGenerator, LoadSpec, load_generator
from bench.load_post import PostLoad
from bench.measure import Phase
from bench.scenarios import proxy
from bench.scenarios.foundation import PATH, PROD, target_defs
from bench.servers import Server, running
from bench.stores import Store, embedded_store, production_store

RESULTS_DIR = Path(__file__).parent / "results"
LINE_NUMBER = re.compile(r":\d+\)$")
NATIVE = "(native code: no Python frame)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["foundation", "proxy"], default="foundation")
    parser.add_argument("--target", default="pipeline", help="a target of that scenario (default pipeline)")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    sample = profile_proxy if args.scenario == "proxy" else profile
    stacks = sample(args.target, args.seconds, args.concurrency, py_spy)
    out = RESULTS_DIR / f"profile-{args.target}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.txt"
    out.write_text(stacks)
    print(summary(stacks, args.top))
    print(f"collapsed stacks: {out}")
    return 0


def profile(target: str, seconds: int, concurrency: int, py_spy: str) -> str:
    with tempfile.TemporaryDirectory(prefix="inference-profile-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        embedded = embedded_store(scratch, tokens=64)
        production = stack.enter_context(production_store(scratch, tokens=64)) if target == PROD else None
        defs = {d.spec.name: d for d in target_defs(embedded, production if isinstance(production, Store) else None, 1)}
        if target not in defs:
            raise SystemExit(f"unknown or unavailable target {target!r}; choose from {sorted(defs)}")
        with running([defs[target].spec], scratch) as servers:
            server, load = servers[target], load_generator("auto")
            spec = LoadSpec(server.url(PATH), concurrency, seconds, defs[target].tokens_file)
            return sampled(target, server, load, spec, py_spy, scratch)


def profile_proxy(target: str, seconds: int, concurrency: int, py_spy: str) -> str:
    """A proxy target (bench/scenarios/proxy.py) with every server it needs: the upstream too."""
    with tempfile.TemporaryDirectory(prefix="inference-profile-") as tmp:
        scratch = Path(tmp)
        production = target in (proxy.CHAT_PROD, proxy.STREAM_PROD)
        with proxy.started(scratch, tokens=64, production=production) as setup:
            targets = {t.name: t for t in setup.targets(scratch)}
            if target not in targets:
                raise SystemExit(f"unknown or unavailable target {target!r}; choose from {sorted(targets)}")
            load = PostLoad(load_generator("auto"))
            spec = targets[target].spec(Phase("profile", concurrency, seconds))
            return sampled(target, targets[target].server, load, spec, py_spy, scratch)


def sampled(target: str, server: Server, load: LoadGenerator, spec: LoadSpec, py_spy: str, scratch: Path) -> str:
    """Warm up for 2 s, then load `server` for the spec's duration while py-spy samples it."""
    load.run(replace(spec, duration_s=2))
    raw = scratch / "stacks.txt"
    assert server.process is not None
    sampler = subprocess.Popen(sampler_command(py_spy, server.process.pid, spec.duration_s + 1, raw))
    result = load.run(spec)
    sampler.wait(timeout=spec.duration_s + 60)
    print(f"{target}: {result.rps:.0f} req/s at c={spec.concurrency} under the sampler (errors {result.errors})")
    return raw.read_text()


def sampler_command(py_spy: str, pid: int, seconds: int, out: Path) -> list[str]:
    # --gil: only the thread holding the GIL, i.e. where the Python CPU time goes; idle threads
    # waiting on queues would otherwise dominate. --nonblocking: do not pause the server to sample.
    return [
        py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
        "--format", "raw", "--gil", "--nonblocking", "-o", str(out),
    ]  # fmt: skip


def summary(stacks: str, top: int) -> str:
    inclusive, self_time, total = Counter[str](), Counter[str](), 0
    for line in stacks.splitlines():
        frames_text, _, count_text = line.rpartition(" ")
        # A sample with no Python frame: the GIL holder was in C (uvloop, httptools, thread start).
        frames = [LINE_NUMBER.sub(")", f) for f in frames_text.split(";") if f.strip()] or [NATIVE]
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            self_time[frames[-1]] += count
    lines = [f"{total} samples of the thread holding the GIL (where Python CPU time goes)", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in self_time.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
