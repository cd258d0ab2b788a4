"""The engine, in process: results, exactly-once usage, failures, retries, leases, cancel, watchdog."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from apps.backends.base import Usage
from apps.backends.fake import FakeBackend
from apps.batches import leases, lifecycle
from apps.batches.engine import BatchSlice, SliceEnd, SliceLimits
from apps.batches.models import BatchItem, BatchJob
from apps.batches.tasks import batch_watchdog
from apps.core.errors import ModelOverloaded
from apps.customers.models import ApiToken
from apps.pipeline import settlement
from apps.pipeline.settlement import Settlement, settle_group
from apps.usage.charges import Charge
from apps.usage.models import UsageRecord
from tests.support.factories import make_fake_model

from .builders import chat_item, completion_item, create_batch, embed_item
from .workers import batch_row, drain_tasks, draining_in_background, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def run_batch(api, token, requests):
    batch_id = create_batch(api, token, requests).json()["data"]["id"]
    drain_tasks()
    return batch_id


def results(api, token, batch_id):
    return api.get(f"/v1/batches/{batch_id}/results?limit=100", token=token).json()["data"]["items"]


def test_a_mixed_batch_gives_each_item_its_endpoints_answer_and_one_charge(api, token):
    requests = [
        chat_item(f"chat-{i}", text=f"question {i}") if i % 2 else embed_item(f"embed-{i}", text=f"text {i}")
        for i in range(48)
    ] + [completion_item("cmpl-a"), completion_item("cmpl-b", prompt="x y")]

    batch_id = run_batch(api, token, requests)

    batch = api.get(f"/v1/batches/{batch_id}", token=token).json()["data"]
    assert batch["status"] == "completed"
    assert batch["counts"] == {"total": 50, "completed": 50, "failed": 0, "cancelled": 0}
    assert batch["started_at"] and batch["finished_at"]
    items = results(api, token, batch_id)
    assert [item["custom_id"] for item in items] == [request["custom_id"] for request in requests]
    alone = {
        "chat-1": api.post("/v1/chat/completions", token=token, json=requests[1]["body"]).json()["data"],
        "embed-2": api.post("/v1/embeddings", token=token, json=requests[2]["body"]).json()["data"],
        "cmpl-b": api.post("/v1/completions", token=token, json=requests[49]["body"]).json()["data"],
    }
    by_id = {item["custom_id"]: item for item in items}
    assert by_id["chat-1"]["response"]["choices"] == alone["chat-1"]["choices"]
    assert by_id["chat-1"]["response"]["id"].startswith("chatcmpl_")
    assert by_id["embed-2"]["response"] == alone["embed-2"]
    assert by_id["cmpl-b"]["response"]["choices"] == alone["cmpl-b"]["choices"]
    assert (
        by_id["chat-1"]["usage"]
        == alone["chat-1"]["usage"]
        == {
            "prompt_tokens": 2,
            "completion_tokens": 4,
            "total_tokens": 6,
        }
    )
    assert all(item["status"] == "completed" and item["error"] is None for item in items)
    charged = UsageRecord.objects.filter(request_id__startswith=f"{batch_id}:")
    assert sorted(charged.values_list("request_id", flat=True)) == sorted(f"{batch_id}:{i}" for i in range(50))
    assert charged.filter(endpoint="embeddings").count() == 24


def test_a_failing_item_records_its_error_and_the_batch_completes(api, token):
    make_fake_model("broken", kind="chat", fail_after_tokens=0, fail_code="invalid_request")

    batch_id = run_batch(api, token, [embed_item("ok"), chat_item("bad", model="broken")])

    ok, bad = results(api, token, batch_id)
    assert ok["status"] == "completed"
    assert bad["status"] == "failed" and bad["response"] is None and bad["usage"] is None
    assert bad["error"]["code"] == "invalid_request" and set(bad["error"]) == {"code", "message", "param", "details"}
    assert batch_row(batch_id).status == "completed"
    assert UsageRecord.objects.count() == 1


def test_a_transient_failure_is_retried_then_recorded(api, token, settings):
    settings.BATCH_ITEM_MAX_ATTEMPTS = 2
    make_fake_model("flaky", kind="chat", fail_after_tokens=0, fail_code="upstream_error")

    batch_id = run_batch(api, token, [chat_item("a", model="flaky")])

    item = BatchItem.objects.get()
    assert item.attempts == 2 and item.status == "failed" and item.error["code"] == "upstream_error"
    assert batch_row(batch_id).failed_count == 1


def test_an_overloaded_model_makes_items_wait_without_using_attempts(api, token, settings, monkeypatch):
    settings.BATCH_ITEM_MAX_ATTEMPTS = 1
    real_chat, refusals = FakeBackend.chat, []

    async def at_capacity_three_times(self, **kwargs):
        if len(refusals) < 3:
            refusals.append(1)
            raise ModelOverloaded()
        return await real_chat(self, **kwargs)

    monkeypatch.setattr(FakeBackend, "chat", at_capacity_three_times)

    batch_id = run_batch(api, token, [chat_item("a")])

    item = BatchItem.objects.get()
    assert len(refusals) == 3 and item.status == "completed" and item.attempts == 1
    assert batch_row(batch_id).status == "completed" and UsageRecord.objects.count() == 1


def test_a_commit_that_never_happened_runs_the_item_again_and_charges_once(api, token, settings, monkeypatch):
    settings.BATCH_ITEM_LEASE_SECONDS = 0.3
    real_settle, groups = settlement.settle_group, []

    def crash_first_commit_of_item_0(settlements):
        groups.append(sorted(int(s.request_id.rsplit(":", 1)[1]) for s in settlements))
        if [0 in group for group in groups].count(True) == 1 and 0 in groups[-1]:
            raise RuntimeError("worker died before commit")
        return real_settle(settlements)

    monkeypatch.setattr(settlement, "settle_group", crash_first_commit_of_item_0)

    batch_id = run_batch(api, token, [embed_item("a"), embed_item("b")])

    assert sum(0 in group for group in groups) == 2  # item 0 ran twice: once lost, once committed
    assert batch_row(batch_id).status == "completed"
    assert sorted(UsageRecord.objects.values_list("request_id", flat=True)) == [f"{batch_id}:0", f"{batch_id}:1"]
    assert BatchItem.objects.get(index=0).attempts == 2


def test_a_dead_workers_leased_items_are_taken_over_after_the_lease(api, token, settings):
    settings.BATCH_ITEM_LEASE_SECONDS = 0.3
    batch_id = create_batch(api, token, [embed_item(str(i)) for i in range(4)]).json()["data"]["id"]
    BatchJob.objects.update(status="running")
    dead = leases.items_lease(batch_pk=batch_row(batch_id).pk, limit=2, lease_s=0.3, max_attempts=3)

    drain_tasks()

    assert batch_row(batch_id).status == "completed"
    assert UsageRecord.objects.count() == 4
    assert set(BatchItem.objects.filter(index__in=[i.index for i in dead]).values_list("attempts", flat=True)) == {2}


def test_a_lost_lease_cannot_commit_and_an_item_cannot_be_charged_twice(api, token):
    batch_id = create_batch(api, token, [embed_item("a")]).json()["data"]["id"]
    BatchJob.objects.update(status="running")
    batch = batch_row(batch_id)
    mine = leases.items_lease(batch_pk=batch.pk, limit=1, lease_s=30, max_attempts=3)[0]
    BatchItem.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    theirs = leases.items_lease(batch_pk=batch.pk, limit=1, lease_s=30, max_attempts=3)[0]
    charge = Charge(batch.customer_id, batch.token_id, "fake-embed", "embeddings", Usage(prompt_tokens=2))

    def finished(item):
        def finish():
            return leases.item_finish(item=item, batch_pk=batch.pk, response={"ok": 1}, error=None, usage=charge.usage)

        return Settlement(request_id=f"{batch_id}:0", charge=charge, door_write=finish)

    assert settle_group([finished(mine)]) == [False]  # lease taken over
    assert settle_group([finished(theirs), finished(theirs)]) == [True, False]
    assert UsageRecord.objects.count() == 1 and batch_row(batch_id).completed_count == 1


def test_items_whose_every_attempt_died_fail_without_charge(api, token, settings):
    settings.BATCH_ITEM_MAX_ATTEMPTS = 1
    batch_id = create_batch(api, token, [embed_item("a"), embed_item("b")]).json()["data"]["id"]
    BatchJob.objects.update(status="running")
    leases.items_lease(batch_pk=batch_row(batch_id).pk, limit=1, lease_s=0, max_attempts=1)

    drain_tasks()

    died, ran = BatchItem.objects.order_by("index")
    assert died.status == "failed" and died.error["code"] == "internal_error"
    assert ran.status == "completed"
    assert UsageRecord.objects.count() == 1
    assert batch_row(batch_id).status == "completed"


def test_cancel_of_a_queued_batch_cancels_every_item(api, token):
    batch_id = create_batch(api, token, [embed_item("a"), embed_item("b")]).json()["data"]["id"]

    response = api.post(f"/v1/batches/{batch_id}/cancel", token=token)
    drain_tasks()

    data = response.json()["data"]
    assert response.status_code == 200
    assert data["status"] == "cancelled" and data["cancel_requested_at"] and data["finished_at"]
    assert data["counts"] == {"total": 2, "completed": 0, "failed": 0, "cancelled": 2}
    assert [item["status"] for item in results(api, token, batch_id)] == ["cancelled", "cancelled"]
    assert UsageRecord.objects.count() == 0


def test_cancel_while_running_stops_pending_items_and_lets_running_ones_finish(api, token, settings):
    settings.BATCH_ITEM_CONCURRENCY = 2
    make_fake_model("slow-chat", kind="chat", reply_tokens=4, token_delay_s=0.05)
    requests = [chat_item(str(i), model="slow-chat") for i in range(20)]
    batch_id = create_batch(api, token, requests).json()["data"]["id"]
    with draining_in_background():
        wait_for(lambda: batch_row(batch_id).completed_count >= 2, timeout_s=20, what="two items")
        cancel = api.post(f"/v1/batches/{batch_id}/cancel", token=token).json()["data"]

    assert cancel["status"] in {"cancelling", "cancelled"}
    final = api.get(f"/v1/batches/{batch_id}", token=token).json()["data"]
    counts = final["counts"]
    assert final["status"] == "cancelled"
    assert counts["cancelled"] >= 10 and counts["completed"] + counts["cancelled"] == 20
    assert UsageRecord.objects.count() == counts["completed"]
    statuses = {item["custom_id"]: item["status"] for item in results(api, token, batch_id)}
    charged = {r.split(":")[1] for r in UsageRecord.objects.values_list("request_id", flat=True)}
    assert charged == {custom_id for custom_id, status in statuses.items() if status == "completed"}


def test_a_slice_whose_batch_was_finished_elsewhere_ends_at_once(api, token):
    """Regression (CI, PostgreSQL): a cancel that arrives while no item runs cancels the rest and
    finishes the batch itself. The running slice then found nothing to finish and polled the
    finished batch until its BATCH_SLICE_SECONDS were up, holding a worker (30 s by default)."""
    batch_id = create_batch(api, token, [embed_item("a")]).json()["data"]["id"]
    batch = lifecycle.batch_start(public_id=batch_id)  # the slice has begun...
    assert batch is not None
    principal = lifecycle.batch_principal(batch=batch)
    assert principal is not None
    api.post(f"/v1/batches/{batch_id}/cancel", token=token)  # ...and the cancel finishes the batch
    assert batch_row(batch_id).status == "cancelled"
    limits = SliceLimits(concurrency=2, lease_s=30.0, slice_s=5.0, max_attempts=3)

    async def run_slice() -> SliceEnd:
        try:
            return await BatchSlice(batch, principal, limits).run()
        finally:
            await sync_to_async(connections.close_all)()  # the slice's thread's: the test database is dropped later

    assert asyncio.run(run_slice()) == SliceEnd.GONE  # not CONTINUE, 5 s later


def test_cancel_of_a_finished_batch_changes_nothing(api, token):
    batch_id = run_batch(api, token, [embed_item("a")])

    data = api.post(f"/v1/batches/{batch_id}/cancel", token=token).json()["data"]

    assert data["status"] == "completed" and data["cancel_requested_at"] is None


def test_a_revoked_token_fails_the_batch_and_runs_nothing(api, token):
    batch_id = create_batch(api, token, [embed_item("a"), embed_item("b")]).json()["data"]["id"]
    ApiToken.objects.update(revoked_at=timezone.now())

    drain_tasks()

    batch = batch_row(batch_id)
    assert batch.status == "failed" and batch.error["code"] == "permission_denied"
    assert batch.failed_count == 2 and UsageRecord.objects.count() == 0
    assert set(BatchItem.objects.values_list("status", flat=True)) == {"failed"}


def test_watchdog_resumes_a_batch_nobody_runs(api, token):
    batch_id = create_batch(api, token, [embed_item("a")]).json()["data"]["id"]
    # The first slice was claimed by a worker that died at once: its task row stays RUNNING.
    DBTaskResult.objects.filter(task_path__endswith="batch_run").update(status="RUNNING")
    BatchJob.objects.update(status="running", heartbeat_at=timezone.now() - timedelta(minutes=5))

    assert batch_watchdog.call(batch_id) == "resumed"
    drain_tasks()

    assert batch_row(batch_id).status == "completed"
    assert batch_watchdog.call(batch_id) == "done"


def test_watchdog_leaves_a_live_or_waiting_batch_alone(api, token):
    batch_id = create_batch(api, token, [embed_item("a")]).json()["data"]["id"]
    tasks_before = DBTaskResult.objects.count()

    assert batch_watchdog.call(batch_id) == "alive"  # its batch_run is still queued
    BatchJob.objects.update(status="running", heartbeat_at=timezone.now())
    DBTaskResult.objects.filter(task_path__endswith="batch_run").update(status="RUNNING")
    assert batch_watchdog.call(batch_id) == "alive"  # a slice showed life just now
    assert DBTaskResult.objects.filter(task_path__endswith="batch_run").count() == 1
    assert DBTaskResult.objects.count() == tasks_before + 2  # only the watchdog re-armed itself
