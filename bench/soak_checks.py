"""What must hold after a soak, checked from the answers the clients got and the rows in the database.

rate limit   per token and one-second window (django-ratelimit's windows are whole seconds of the
             clock), no more answers got past the limiter than the limit, and each got its own
             count (distinct X-RateLimit-Remaining: the counter is atomic across workers). Only
             requests sent and answered within one second are placed in a window. Outside the
             cache outage.
sustained    a token driven far above its limit for the whole soak: every admitted request can be
             given a second of its span with none over the limit (tests/support/rate_windows.py),
             outside the outage; during it, none over workers x limit
cache outage Redis killed part-way, then started again: no 5xx, and limits still applied (429s),
             per worker
usage        the usage rows are exactly the successful executions: first 2xx answers of inference
             requests and streams that ended with `done`, matched by request id
idempotency  one execution and one charge per key; every replay is byte-identical to the original
request log  a row for every request (by request id; a replay's own row is counted, since its
             X-Request-Id is the original's); rejected requests without a valid token are
             aggregated into rows whose counts add up to what the clients got
answers      no 5xx, no transport errors, and every answer carried X-Request-Id and the limit headers
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from bench.soak_outage import Outage
from bench.soak_traffic import Record
from tests.support.rate_windows import judge_windows

NOISE_STATUSES = (401, 429)
NoiseBucket = tuple[str, int, str]  # path, status, error code (the noise rows' key, less IP and minute)


@dataclass(frozen=True)
class Stored:
    """What the database holds after the servers stopped (and flushed their request logs)."""

    usage_ids: set[str]
    log_ids: set[str]
    log_replayed: int
    noise: Counter[NoiseBucket]  # sum of `count` over aggregated rows (no customer, 401/429), per bucket
    key_states: dict[str, str]  # idempotency key -> state
    batches_open: int  # batches not yet completed, failed or cancelled
    batch_items: dict[str, str]  # an item's request id (`<batch id>:<index>`) -> its status


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def read_database(database_url: str) -> Stored:
    import psycopg

    with psycopg.connect(database_url) as db:
        usage = {row[0] for row in db.execute("SELECT request_id FROM usage_usagerecord")}
        logs = db.execute(
            "SELECT request_id, customer_id IS NULL, status, replayed, count, path, error_code"
            " FROM request_logs_requestlog"
        ).fetchall()
        keys = dict(db.execute("SELECT key, state FROM idempotency_idempotencyrecord").fetchall())
        batches_open = _open_batches(db)
        items = db.execute(
            "SELECT job.public_id || ':' || item.index, item.status"
            " FROM batches_batchitem item JOIN batches_batchjob job ON job.id = item.batch_id"
        ).fetchall()
    noise: Counter[NoiseBucket] = Counter()
    for _, anonymous, status, _, count, path, error_code in logs:
        if anonymous and status in NOISE_STATUSES:
            noise[path, status, error_code] += count
    return Stored(
        usage, {row[0] for row in logs}, sum(1 for row in logs if row[3]), noise, keys, batches_open, dict(items)
    )


def wait_for_batches(database_url: str, *, timeout_s: float) -> bool:
    """Until every batch is terminal (True), or `timeout_s` passed (False)."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    with psycopg.connect(database_url, autocommit=True) as db:
        while _open_batches(db):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
    return True


def _open_batches(db: Any) -> int:
    terminal = ("completed", "failed", "cancelled")
    return db.execute("SELECT count(*) FROM batches_batchjob WHERE NOT status = ANY(%s)", [list(terminal)]).fetchone()[
        0
    ]


def rate_limits(records: list[Record], limits: dict[str, int], outage: Outage) -> Check:
    windows: dict[tuple[str, int], list[int]] = defaultdict(list)
    straddling = 0
    for record in records:
        if record.token is None or record.status in (0, 429) or record.remaining is None:
            continue
        if outage.covers(record.sent, record.received):
            continue  # counted per worker then: the `cache outage` check judges those
        if int(record.sent) != int(record.received):
            straddling += 1
            continue
        windows[record.token, int(record.sent)].append(record.remaining)
    over = [(token, second, len(r)) for (token, second), r in windows.items() if len(r) > limits[token]]
    repeated = [(token, second) for (token, second), r in windows.items() if len(set(r)) != len(r)]
    burst = [len(r) for (token, _), r in windows.items() if token == "burst"]
    limited = sum(1 for record in records if record.token == "burst" and record.status == 429)
    detail = (
        f"{len(windows)} token-windows, {sum(map(len, windows.values()))} requests placed ({straddling} straddled "
        f"a second, not placed); burst token (limit {limits['burst']}/s): at most {max(burst, default=0)} "
        f"accepted in a window, {limited} refused with 429; over the limit: {over[:3] or 0}; "
        f"repeated counts: {repeated[:3] or 0}"
    )
    return Check("rate limit", not over and not repeated, detail)


def sustained(records: list[Record], limits: dict[str, int], outage: Outage) -> Check:
    """No window over the limit under load that never lets up, across the whole soak."""
    limit = limits["sustained"]
    admitted = [(r.sent, r.received) for r in records if r.scenario == "sustained" and 200 <= r.status < 300]
    shared = [span for span in admitted if not outage.covers(*span)]
    verdict = judge_windows(shared, limit)
    refused = sum(1 for r in records if r.scenario == "sustained" and r.status == 429)
    detail = (
        f"limit {limit}/s, {len(admitted) + refused} requests: {verdict.admitted} admitted over {verdict.windows} "
        f"windows outside the outage, at most {verdict.most_placed} placed in one, {verdict.straddled} straddled "
        f"a second; windows over the limit: {'none' if verdict.feasible else verdict.overflow}; {refused} x 429"
    )
    return Check("sustained limit (no window over it)", verdict.feasible and verdict.windows > 0, detail)


def cache_outage(records: list[Record], limits: dict[str, int], outage: Outage, *, workers: int) -> Check:
    if not outage.started or not outage.ended:
        return Check("cache outage", True, "not run")
    during = [r for r in records if outage.covers(r.sent, r.received)]
    failed = [r for r in during if r.status == 0 or r.status >= 500]
    limit = limits["sustained"] * workers
    spans = [(r.sent, r.received) for r in during if r.scenario == "sustained" and 200 <= r.status < 300]
    verdict = judge_windows(spans, limit)
    limited = Counter(r.scenario for r in during if r.status == 429)
    statuses = Counter(r.status for r in during)
    detail = (
        f"Redis down {outage.ended - outage.started:.1f} s: {len(during)} requests touched the outage "
        f"({dict(sorted(statuses.items()))}), 5xx or transport errors: {len(failed)}; sustained token: "
        f"{verdict.admitted} admitted over {verdict.windows} windows, at most {verdict.most_placed} placed in one "
        f"(per-worker bound {workers} x {limits['sustained']}); windows over it: "
        f"{'none' if verdict.feasible else verdict.overflow}; 429s by scenario: {dict(limited)}"
    )
    return Check(
        "cache outage (limits per worker)", not failed and verdict.feasible and limited["sustained"] > 0, detail
    )


def usage(records: list[Record], stored: Stored, *, batches_served: bool) -> Check:
    executed = {record.request_id for record in records if record.executed}
    seen = {record.request_id for record in records}
    missing, unexplained = executed - stored.usage_ids, (stored.usage_ids - executed) & seen
    others = stored.usage_ids - seen  # not answers of ours: batch items' charges (next check)
    foreign = others - set(stored.batch_items)
    passed = not missing and not unexplained and not foreign and (not others or batches_served)
    detail = (
        f"{len(stored.usage_ids & executed)} usage rows = {len(executed)} successful executions; "
        f"missing: {len(missing)}, charged without success: {len(unexplained)}, "
        f"batch-item charges: {len(others)}, charges of nothing known: {len(foreign)}"
    )
    return Check("usage = executions", passed, detail)


def batches(stored: Stored) -> Check:
    """Every batch ran to its end, and each item is charged once if it completed, never otherwise
    (a usage row's request id is unique, so "once" is the database's promise; "if completed" ours)."""
    completed = {item for item, status in stored.batch_items.items() if status == "completed"}
    charged = set(stored.batch_items) & stored.usage_ids
    statuses = Counter(stored.batch_items.values())
    passed = stored.batches_open == 0 and charged == completed
    detail = (
        f"{len(stored.batch_items)} items ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items())) or 'none'}); "
        f"batches still open: {stored.batches_open}; completed without a charge: {len(completed - charged)}, "
        f"charged without completing: {len(charged - completed)}"
    )
    return Check("batches: run to the end, each item charged once", passed, detail)


def idempotency(records: list[Record], stored: Stored) -> Check:
    by_key: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.key:
            by_key[record.key].append(record)
    problems = []
    for key, group in by_key.items():
        firsts = [r for r in group if 200 <= r.status < 300 and not r.replayed]
        replays = [r for r in group if r.replayed]
        charged = {r.request_id for r in group} & stored.usage_ids
        differing = any(r.body != firsts[0].body for r in replays) if firsts else True
        if len(firsts) != 1 or len(charged) != 1 or differing or stored.key_states.get(key) != "completed":
            problems.append(key)
    statuses = Counter(r.status for group in by_key.values() for r in group)
    replayed = sum(1 for group in by_key.values() for r in group if r.replayed)
    detail = (
        f"{len(by_key)} keys, {sum(statuses.values())} requests ({replayed} replays, {statuses[409]} x 409 "
        f"in progress, {statuses[422]} x 422 reused with another body); keys with a double charge, "
        f"no charge or a differing replay: {len(problems)} {problems[:3]}"
    )
    return Check("idempotency", not problems, detail)


def request_log(records: list[Record], stored: Stored) -> Check:
    """A failure names its cause: the missing request ids with what their clients got, and the
    noise buckets whose counts differ from what the clients were answered."""
    noise = [r for r in records if r.token is None and r.status in NOISE_STATUSES]
    noise_ids = {id(r) for r in noise}
    expected = {r.request_id: r for r in records if r.request_id and not r.replayed and id(r) not in noise_ids}
    replays = sum(1 for r in records if r.replayed)
    missing = sorted(set(expected) - stored.log_ids)
    answered: Counter[NoiseBucket] = Counter((r.path.partition("?")[0], r.status, r.error_code) for r in noise)
    disagree = sorted(b for b in answered.keys() | stored.noise.keys() if answered[b] != stored.noise[b])
    passed = not missing and stored.log_replayed == replays and not disagree
    detail = (
        f"{len(expected) - len(missing)}/{len(expected)} requests have their row; {stored.log_replayed} replay "
        f"rows for {replays} replays; scanner noise: {len(noise)} rejected requests, counted "
        f"{sum(stored.noise.values())} in aggregated rows"
    )
    if missing:
        detail += "; missing rows: " + ", ".join(_described(expected[i]) for i in missing[:10])
    if disagree:
        detail += "; noise buckets that disagree (answered/counted): " + ", ".join(
            f"{path} {status} {code or '-'} {answered[path, status, code]}/{stored.noise[path, status, code]}"
            for path, status, code in disagree
        )
    return Check("request log", passed, detail)


def _described(record: Record) -> str:
    """What the client saw of a request; X-RateLimit-Limit says which budget the server counted."""
    error = f" {record.error_code}" if record.error_code else ""
    return f"{record.request_id} ({record.kind} {record.path} -> {record.status}{error}, limit {record.limit})"


def answers(records: list[Record]) -> Check:
    failed = [r for r in records if r.status == 0 or r.status >= 500]
    bare = [r for r in records if r.status and (not r.request_id or r.limit is None)]
    codes = Counter(f"{r.error_code or r.status} ({r.kind} {r.path})" for r in failed)
    detail = f"{len(records)} answers; 5xx or transport errors: {len(failed)} {dict(codes)}; "
    detail += f"without X-Request-Id or limit headers: {len(bare)}"
    return Check("answers", not failed and not bare, detail)


def run_checks(
    records: list[Record], stored: Stored, limits: dict[str, int], *, batches_served: bool, outage: Outage, workers: int
) -> list[Check]:
    return [
        rate_limits(records, limits, outage),
        sustained(records, limits, outage),
        cache_outage(records, limits, outage, workers=workers),
        usage(records, stored, batches_served=batches_served),
        batches(stored),
        idempotency(records, stored),
        request_log(records, stored),
        answers(records),
    ]
