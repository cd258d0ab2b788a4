"""Whether the usage pages' cost grows with the usage table (docs/operations.md, "Usage"): the admin's
daily usage page (and `GET /v1/usage`'s computation) over 10k and over 1M usage records, measured in
the same run on a scratch PostgreSQL database. The reports read the per-day rollup
(apps/usage/rollup.py) and the records after its mark, so their p95 should not move with the table.

    make bench-admin                                   # also runs bench/admin_requestlog.py
    .venv/bin/python bench/admin_usage.py [--small 10000] [--large 1000000] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.admin_requestlog import (
    CUSTOMERS,
    ROOT,
    _create_database,
    _customers_and_tokens,
    _drop_database,
    _setup_django,
)

RESULTS = ROOT / "bench" / "results" / "admin_usage.json"
RATIO_TARGET = 1.5

# Usage records over the last 30 days (skewed to recent days), ids in time order. Customers are
# drawn evenly so that both sizes cover the same (day, customer, model) rows: what a page shows
# is the same, and only the table's size differs between the two measurements.
SEED_SQL = """
INSERT INTO usage_usagerecord
  (customer_id, token_id, model, endpoint, prompt_tokens, completion_tokens, request_id, created_at)
SELECT customer, NULL,
       CASE WHEN kind < 0.6 THEN 'smollm2-135m-instruct' WHEN kind < 0.9 THEN 'all-minilm-l6-v2'
            ELSE 'big-upstream' END,
       CASE WHEN kind < 0.6 THEN 'chat.completions' WHEN kind < 0.9 THEN 'embeddings' ELSE 'completions' END,
       10 + (kind * 500)::int, CASE WHEN kind < 0.9 AND kind >= 0.6 THEN 0 ELSE 1 + (kind * 200)::int END,
       'req_' || %(offset)s || '_' || g,
       now() - interval '30 days' * power(1 - g::float8 / %(rows)s, 2) - interval '2 minutes'
FROM (
  SELECT g, random() AS kind,
         (%(customer_ids)s::bigint[])[1 + floor(%(customers)s * random())::int] AS customer
  FROM generate_series(1, %(rows)s) AS g
) AS draws
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    _setup_django(_create_database(reuse=False))
    try:
        result = _run(args)
    finally:
        _drop_database()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    customer_ids = _customers_and_tokens()
    client = _admin_client()
    sizes = {}
    for rows in (args.small, args.large):
        seeded_s, rollup_s = _seed(rows, customer_ids)
        sizes[rows] = {"seed_s": round(seeded_s, 1), "rollup_s": round(rollup_s, 1), **_time(client, runs=args.runs)}
        print(f"{rows:>9,} usage records: {sizes[rows]}", flush=True)
    small, large = sizes[args.small], sizes[args.large]
    ratios = {page: round(large[page]["p95_ms"] / small[page]["p95_ms"], 2) for page in small if page.endswith("days")}
    verdict = "PASS" if all(ratio <= RATIO_TARGET for ratio in ratios.values()) else "FAIL"
    print(f"[{verdict}] p95 at {args.large:,} records / p95 at {args.small:,} (target <= {RATIO_TARGET}): {ratios}")
    return {
        "benchmark": "admin_usage",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "sizes": {str(rows): figures for rows, figures in sizes.items()},
        "p95_ratio_large_over_small": ratios,
        "target": RATIO_TARGET,
    }


def _seed(rows: int, customer_ids: list[int]) -> tuple[float, float]:
    """Replace the usage records with `rows` new ones, and roll them up as the server would."""
    from django.db import connection

    from apps.usage.models import UsageDay, UsageRecord, UsageRollupMark
    from apps.usage.rollup import rollup_catch_up

    UsageDay.objects.all().delete()
    UsageRollupMark.objects.all().delete()
    UsageRecord.objects.all().delete()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        params = {"rows": rows, "customers": CUSTOMERS, "customer_ids": customer_ids, "offset": rows}
        cursor.execute(SEED_SQL, params)
        cursor.execute("VACUUM ANALYZE usage_usagerecord")
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    rollup_catch_up()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE usage_usageday")
    return seeded, time.perf_counter() - started


def _admin_client() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "", "bench")
    client = Client()
    client.force_login(user)
    return client


def _time(client: Any, *, runs: int) -> dict[str, dict[str, float]]:
    from datetime import timedelta

    from django.utils import timezone

    from apps.usage.totals import usage_totals

    today = timezone.now().date()
    month = {"first_day": today - timedelta(days=29), "last_day": today}
    probes = {
        "admin page, 7 days": lambda: _get(client, "/admin/usage/dailyusage/?days=7"),
        "admin page, 30 days": lambda: _get(client, "/admin/usage/dailyusage/?days=30"),
        "one customer, 30 days": lambda: usage_totals(**month, customer_id=1),
    }
    figures = {}
    for name, probe in probes.items():
        probe()  # warm-up
        samples = sorted(_elapsed_ms(probe) for _ in range(runs))
        figures[name] = {
            "median_ms": round(statistics.median(samples), 1),
            "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)], 1),
        }
    return figures


def _get(client: Any, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


def _elapsed_ms(action: Any) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
