"""`make multinode`: two nodes and three fake GPU replicas in network namespaces on this host,
sharing PostgreSQL and Redis, through four scenarios (docs/deploy.md#the-multi-node-harness).

Needs root (network namespaces), DATABASE_URL (PostgreSQL: a scratch database `<name>_multinode`
is created next to it and dropped afterwards) and REDIS_URL (its database number is used as is).
Bounded: the whole run is stopped after MULTINODE_LIMIT_S (default 300 s); namespaces, relays and
processes are removed on every exit path. Exit status 1 if any invariant failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

LIMIT_S = int(os.environ.get("MULTINODE_LIMIT_S", "300"))
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "var" / "multinode" / "results.json"
FLUSH_S = 0.5  # REQUEST_LOG_FLUSH_SECONDS on the nodes (the default)
TOKEN_DELAY_S = 0.025  # the fake replicas: 8 tokens, 25 ms apart (slowed: 250 ms)
WORKERS_PER_NODE = 2


def main() -> int:
    problem = _preflight()
    if problem:
        print(f"make multinode: {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.signal(signal.SIGTERM, _terminated)
    signal.alarm(LIMIT_S)
    started = time.monotonic()
    service_database_url, redis_url = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    scratch_url = _scratch_url(service_database_url)
    _recreate_database(scratch_url)
    try:
        reports = _run(scratch_url, redis_url)
    finally:
        if os.environ.get("MULTINODE_KEEP") != "1":
            _drop_database(scratch_url)
        signal.alarm(0)
    failed = [report for report in reports if report.failures]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            [{"name": r.name, "figures": r.figures, "checks": r.checks, "failures": r.failures} for r in reports],
            indent=2,
            default=str,
        )
    )
    print(f"\n{len(reports) - len(failed)}/{len(reports)} scenarios passed in {time.monotonic() - started:.0f}s")
    print(f"figures: {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


def _run(scratch_url: str, redis_url: str) -> list:
    _django(scratch_url)
    from tests.multinode.cluster import Cluster, NodeSettings
    from tests.multinode.topology import Topology

    settings = NodeSettings(
        database_url=scratch_url,
        redis_url=redis_url,
        workers=WORKERS_PER_NODE,
        env={
            "DB_POOL_MAX": "4",  # 2 nodes x 2 workers x 4 = 16 connections at most (docs/deploy.md)
            "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "3",  # a dead node's claims are taken over quickly
            "REQUEST_LOG_FLUSH_SECONDS": str(FLUSH_S),
        },
    )
    with Topology(nodes=2, replicas=3) as topology:
        nodes = [topology.node(1), topology.node(2)]
        replicas = [topology.replica(i) for i in (1, 2, 3)]
        cluster = Cluster(
            node_machines=nodes, replica_machines=replicas, settings=settings, token_delay_s=TOKEN_DELAY_S, tokens=8
        )
        try:
            _seed([replica.url for replica in cluster.replicas])
            print(f"starting {len(nodes)} nodes x {WORKERS_PER_NODE} workers, {len(replicas)} replicas")
            cluster.start()
            return asyncio.run(_scenarios(cluster))
        finally:
            cluster.close()
            if os.environ.get("MULTINODE_KEEP") != "1":
                shutil.rmtree(cluster.work_dir, ignore_errors=True)


async def _scenarios(cluster) -> list:
    import aiohttp

    from tests.multinode import scenarios
    from tests.multinode.load import REQUEST_TIMEOUT_S

    # No keep-alive: a pooled connection the server closes as it is reused fails a request for
    # reasons that have nothing to do with the scenario.
    connector = aiohttp.TCPConnector(limit=256, force_close=True)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        ctx = scenarios.Context(cluster=cluster, session=session, flush_s=FLUSH_S)
        reports = []
        # The node kill comes last: the run ends with one node gone.
        chosen = os.environ.get("MULTINODE_ONLY", "").split(",")  # e.g. MULTINODE_ONLY=steady,node_killed
        for scenario in (scenarios.steady, scenarios.redis_cut, scenarios.replica_faults, scenarios.node_killed):
            if chosen != [""] and scenario.__name__ not in chosen:
                continue
            report = await scenario(ctx)
            report.print()
            reports.append(report)
        return reports


def _seed(replica_urls: list[str]) -> None:
    from apps.models_registry.models import Model
    from tests.multinode.load import MODEL
    from tests.multinode.scenarios import COOLDOWN_S

    config = {"upstream_model": "fake", "replicas": replica_urls, "cooldown_s": COOLDOWN_S}
    Model.objects.update_or_create(
        id=MODEL, defaults={"kind": "chat", "backend": "openai_compatible", "config": config}
    )


def _django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)  # the harness only writes rows; the nodes use Redis
    os.environ["DJANGO_SETTINGS_MODULE"] = "inference_platform.settings.production"
    os.environ.setdefault("SECRET_KEY", "multinode-harness-secret-key-not-for-production-use-000000")
    os.environ["REQUEST_LOG_ENABLED"] = "0"
    # The checks query the database between scenarios, on the loop that ran the load (idle by then).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _preflight() -> str:
    if os.geteuid() != 0:
        return "needs root (it creates network namespaces)"
    if shutil.which("ip") is None:
        return "needs `ip` (iproute2)"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "needs DATABASE_URL=postgres://… (a scratch database is created next to it)"
    if not os.environ.get("REDIS_URL", "").startswith("redis://"):
        return "needs REDIS_URL=redis://…"
    return ""


def _scratch_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.strip('/')}_multinode"))


def _maintenance(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.strip("/")


def _recreate_database(url: str) -> None:
    import psycopg

    admin_url, name = _maintenance(url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    import psycopg

    admin_url, name = _maintenance(url)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"make multinode: over its {LIMIT_S}s limit; cleaning up")


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"make multinode: terminated (signal {signum}); cleaning up")


if __name__ == "__main__":
    sys.exit(main())
