"""How fast the request-log admin answers over a million rows on PostgreSQL (docs/operations.md;
target: every list page under 500 ms).

It creates a scratch database, seeds `--rows` request-log rows with one INSERT … SELECT over
generate_series (skewed to recent hours and to a few busy customers, in time order as a real log
is written), logs in as staff with Django's test Client and times each admin page: the median of
`--runs` runs after one warm-up, the number of SQL queries and the slowest one. Then it times one
retention run, writes bench/results/admin_requestlog.json, prints a table and drops the database.

    .venv/bin/python bench/admin_requestlog.py [--rows 1000000] [--runs 7] [--keep]

BENCH_POSTGRES_URL names the server's maintenance database (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "admin_requestlog.json"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SCRATCH_DB = "bench_admin_requestlog"
TARGET_MS = 500
CUSTOMERS = 50

# One row per request: who (3% scanners without a token, else a skewed customer), what (status
# mix of a healthy service), when (age = 30 days x (1 - g/N)^2: ~18% in the last day, ~4% in
# the last hour, ids in time order).
SEED_SQL = """
INSERT INTO request_logs_requestlog
  (request_id, created_at, customer_id, token_prefix, method, path, status, error_code, latency_ms, model,
   prompt_tokens, completion_tokens, stream, idempotency_key, replayed, client_ip, user_agent, count)
SELECT
  'req_' || substr(md5(g::text), 1, 24),
  now() - interval '30 days' * power(1 - g::float8 / %(rows)s, 2),
  CASE WHEN anonymous THEN NULL ELSE customer END,
  CASE WHEN anonymous THEN '' ELSE 'ipk_' || lpad(to_hex(customer * 2 + (u * 1000)::int %% 2), 8, '0') END,
  CASE WHEN path_kind = 0 THEN 'GET' ELSE 'POST' END,
  CASE WHEN anonymous THEN '/v1/' || (ARRAY['models', 'chat/completions', '.env', 'wp-login'])[1 + (u * 4)::int %% 4]
       WHEN path_kind = 0 THEN '/v1/models'
       WHEN path_kind = 1 THEN '/v1/chat/completions'
       ELSE '/v1/embeddings' END,
  status,
  CASE status WHEN 200 THEN '' WHEN 400 THEN 'invalid_request' WHEN 401 THEN 'invalid_token'
              WHEN 404 THEN 'not_found' WHEN 429 THEN 'rate_limited' WHEN 500 THEN 'internal_error'
              ELSE 'model_overloaded' END,
  CASE WHEN status <> 200 THEN 0.5 + u * 4
       WHEN path_kind = 1 THEN 150 + u * u * 4000
       ELSE 3 + u * 60 END,
  CASE WHEN anonymous OR path_kind = 0 THEN ''
       WHEN path_kind = 1 THEN 'smollm2-135m-instruct' ELSE 'all-minilm-l6-v2' END,
  CASE WHEN status = 200 AND path_kind > 0 AND NOT anonymous THEN 10 + (u * 500)::int END,
  CASE WHEN status = 200 AND path_kind = 1 AND NOT anonymous THEN 1 + (u * 200)::int
       WHEN status = 200 AND path_kind = 2 AND NOT anonymous THEN 0 END,
  false, '', false,
  ('10.' || (g %% 200) || '.' || (g %% 7) || '.' || (g %% 250))::inet,
  'bench/1.0',
  CASE WHEN anonymous THEN 1 + (u * 40)::int ELSE 1 END
FROM (
  SELECT g, u, anonymous, path_kind, customer,
         CASE WHEN anonymous THEN (CASE WHEN u < 0.6 THEN 401 ELSE 429 END)
              WHEN s < 0.900 THEN 200 WHEN s < 0.930 THEN 429 WHEN s < 0.950 THEN 400
              WHEN s < 0.960 THEN 404 WHEN s < 0.995 THEN 200 WHEN s < 0.998 THEN 500 ELSE 503 END AS status
  FROM (
    SELECT g, random() AS u, random() AS s, random() < 0.03 AS anonymous, (random() * 2.999)::int AS path_kind,
           (%(customer_ids)s::bigint[])[1 + floor(%(customers)s * power(random(), 3))::int] AS customer
    FROM generate_series(1, %(rows)s) AS g
  ) AS draws
) AS rows
"""


@dataclass
class Timing:
    name: str
    url: str
    median_ms: float
    min_ms: float
    max_ms: float
    queries: int
    slowest_query_ms: float
    under_target: bool


def main() -> None:
    args = _arguments()
    database_url = _create_database(args.rows_reuse)
    _setup_django(database_url)
    try:
        seeded = _seed(args.rows) if not args.rows_reuse else _existing()
        timings = _time_pages(seeded, runs=args.runs)
        prune = _time_prune()
        _report(args, seeded, timings, prune)
    finally:
        if not args.keep:
            _drop_database()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (and reuse it next time)")
    parser.add_argument("--rows-reuse", action="store_true", help="time the kept database without seeding")
    return parser.parse_args()


# --- the scratch database --------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _create_database(reuse: bool) -> str:
    import psycopg

    if not reuse:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    return _with_database(ADMIN_URL, SCRATCH_DB)


def _drop_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    for connection in connections.all():
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


def _setup_django(database_url: str) -> None:
    for inherited in ("REDIS_URL", "VAR_DIR"):
        os.environ.pop(inherited, None)  # a local-memory cache: the dashboard is timed uncached anyway
    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="inference_platform.settings.production",  # DEBUG off, as deployed
        SECRET_KEY="bench-only-key-not-a-secret",
        SECURE_COOKIES="0",
        SECURE_SSL_REDIRECT="0",  # the test client speaks plain HTTP
        LOG_LEVEL="WARNING",
        REQUEST_LOG_ENABLED="0",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    rows: int
    seconds: float
    busy_customer: int
    quiet_customer: int
    token_prefix: str
    request_id: str
    row_id: int


def _seed(rows: int) -> Seeded:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    customer_ids = _customers_and_tokens()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"rows": rows, "customers": CUSTOMERS, "customer_ids": customer_ids})
    with connection.cursor() as cursor:  # fresh statistics and visibility map, as autovacuum would leave them
        cursor.execute("VACUUM ANALYZE request_logs_requestlog")
    seconds = time.perf_counter() - started
    print(f"seeded {rows:,} rows in {seconds:.1f} s", flush=True)
    return _existing(seconds=seconds)


def _customers_and_tokens() -> list[int]:
    from apps.customers.models import ApiToken, Customer

    customers = Customer.objects.bulk_create(
        Customer(name=f"customer-{n:02d}", requests_per_second=200 if n % 10 == 0 else None) for n in range(CUSTOMERS)
    )
    ApiToken.objects.bulk_create(
        ApiToken(customer=c, name=f"token-{j}", prefix=f"ipk_{c.pk * 2 + j:08x}", secret_hash=f"{c.pk * 2 + j:064x}")
        for c in customers
        for j in (0, 1)
    )
    return [customer.pk for customer in customers]


def _existing(seconds: float = 0.0) -> Seeded:
    from django.db.models import Count

    from apps.request_logs.models import RequestLog

    recent = RequestLog.objects.filter(customer__isnull=False).order_by("-created_at", "-id")
    sample = recent[1000]
    by_customer = list(
        RequestLog.objects.filter(customer__isnull=False)
        .values("customer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("customer_id", flat=True)
    )
    return Seeded(
        rows=RequestLog.objects.count(),
        seconds=seconds,
        busy_customer=by_customer[0],
        quiet_customer=by_customer[-1],
        token_prefix=sample.token_prefix,
        request_id=sample.request_id,
        row_id=sample.pk,
    )


# --- timing ------------------------------------------------------------------------------------


def _pages(seeded: Seeded) -> list[tuple[str, str]]:
    log = "/admin/request_logs/requestlog/"
    return [
        ("list, unfiltered", log),
        ("list, page 2", f"{log}?p=2"),
        ("list, last counted page (200)", f"{log}?p=200"),
        ("filter status 5xx", f"{log}?status_class=5"),
        ("filter status 4xx", f"{log}?status_class=4"),
        ("filter busiest customer", f"{log}?customer__id__exact={seeded.busy_customer}"),
        ("filter quietest customer", f"{log}?customer__id__exact={seeded.quiet_customer}"),
        ("filter error code model_overloaded", f"{log}?error_code=model_overloaded"),
        ("filter model", f"{log}?model=all-minilm-l6-v2"),
        ("filter last 24 hours", f"{log}?period=24h"),
        ("filter 5xx + quietest customer", f"{log}?status_class=5&customer__id__exact={seeded.quiet_customer}"),
        ("search request id", f"{log}?q={seeded.request_id}"),
        ("search request id, no match", f"{log}?q=req_000000000000000000000000"),
        ("search token prefix", f"{log}?q={seeded.token_prefix}"),
        ("one row", f"{log}{seeded.row_id}/change/"),
        ("dashboard, last hour (uncached)", "/admin/"),
        ("dashboard, last day (uncached)", "/admin/?window=day"),
        ("daily usage, 7 days", "/admin/usage/dailyusage/?days=7"),
        ("daily usage, 30 days", "/admin/usage/dailyusage/?days=30"),
    ]


def _time_pages(seeded: Seeded, *, runs: int) -> list[Timing]:
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "", "bench")
    client = Client()
    client.force_login(user)
    timings = [_time_page(client, name, url, runs=runs) for name, url in _pages(seeded)]
    return timings


def _time_page(client: Any, name: str, url: str, *, runs: int) -> Timing:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> None:
        cache.clear()  # the dashboard caches its figures for seconds: time the queries
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    get()  # warm-up: plans, templates, connection
    samples = [_elapsed_ms(get) for _ in range(runs)]
    with CaptureQueriesContext(connection) as queries:
        get()
    slowest = max((float(q["time"]) * 1000 for q in queries.captured_queries), default=0.0)
    median = statistics.median(samples)
    print(f"{name:40s} {median:8.1f} ms  ({len(queries.captured_queries)} queries)", flush=True)
    return Timing(
        name=name,
        url=url,
        median_ms=round(median, 1),
        min_ms=round(min(samples), 1),
        max_ms=round(max(samples), 1),
        queries=len(queries.captured_queries),
        slowest_query_ms=round(slowest, 1),
        under_target=median < TARGET_MS,
    )


def _elapsed_ms(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _time_prune() -> dict[str, Any]:
    """One retention run keeping 29 of the 30 days: the daily job's shape."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.request_logs.retention import DEFAULT_BATCH_SIZE, request_logs_prune

    started = time.perf_counter()
    deleted = request_logs_prune(older_than=timezone.now() - timedelta(days=29))
    seconds = time.perf_counter() - started
    print(f"prune --days 29: {deleted:,} rows in {seconds:.2f} s", flush=True)
    return {"days": 29, "deleted": deleted, "seconds": round(seconds, 2), "batch_size": DEFAULT_BATCH_SIZE}


# --- the report --------------------------------------------------------------------------------


def _report(args: argparse.Namespace, seeded: Seeded, timings: list[Timing], prune: dict[str, Any]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    result = {
        "benchmark": "admin_requestlog",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "postgresql": server_version,
        "rows": seeded.rows,
        "seed_seconds": round(seeded.seconds, 1),
        "runs": args.runs,
        "target_ms": TARGET_MS,
        "pages": [asdict(timing) for timing in timings],
        "prune": prune,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    slow = [t.name for t in timings if not t.under_target]
    print(f"\nwrote {RESULTS.relative_to(ROOT)}; " + (f"OVER {TARGET_MS} ms: {slow}" if slow else "all under target"))


if __name__ == "__main__":
    main()
