"""Real worker processes: `manage.py db_worker` killed mid-batch and started again, the embedded
default's worker, and a batch on the real local models."""

from __future__ import annotations

import os
import signal

import pytest
from asgiref.sync import async_to_sync

from apps.backends.local_chat import LocalChatBackend
from apps.backends.microbatcher import MicroBatcher
from apps.backends.registry import cached_backends, close_backends
from apps.batches.embedded_worker import EmbeddedWorker
from apps.batches.models import BatchItem
from apps.models_registry.models import Model
from apps.usage.models import UsageRecord
from tests.support import live_server
from tests.support.factories import make_fake_model

from .builders import chat_item, create_batch, embed_item
from .workers import batch_row, drain_tasks, wait_for, worker_process

pytestmark = pytest.mark.django_db(transaction=True)

FAST_RECOVERY = {"BATCH_ITEM_LEASE_SECONDS": "1", "BATCH_ITEM_CONCURRENCY": "4"}


@pytest.mark.live
def test_a_killed_worker_loses_nothing_and_charges_nothing_twice(api, token, settings):
    settings.BATCH_ITEM_LEASE_SECONDS = 1  # the watchdog armed at creation, too
    make_fake_model("slow-chat", kind="chat", reply_tokens=4, token_delay_s=0.05)
    batch_id = create_batch(api, token, [chat_item(str(i), model="slow-chat") for i in range(30)]).json()["data"]["id"]

    with worker_process(**FAST_RECOVERY) as first:
        wait_for(lambda: batch_row(batch_id).completed_count >= 6, timeout_s=30, what="a few items")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    killed = batch_row(batch_id)
    assert killed.status == "running" and killed.completed_count < 30
    in_flight = set(BatchItem.objects.filter(status="running").values_list("index", flat=True))

    with worker_process(**FAST_RECOVERY):
        wait_for(lambda: batch_row(batch_id).status == "completed", timeout_s=30, what="the batch to complete")

    assert batch_row(batch_id).completed_count == 30
    assert set(BatchItem.objects.values_list("status", flat=True)) == {"completed"}
    charged = list(UsageRecord.objects.values_list("request_id", flat=True))
    assert sorted(charged) == sorted(f"{batch_id}:{i}" for i in range(30))  # each item once
    rerun = set(BatchItem.objects.filter(attempts=2).values_list("index", flat=True))
    assert rerun == in_flight  # exactly the claimed-but-uncommitted items ran again


@pytest.mark.live
def test_the_embedded_worker_starts_and_stops_with_the_server(api, token, settings, tmp_path, monkeypatch):
    settings.BATCH_EMBEDDED_WORKER = True
    settings.VAR_DIR = tmp_path  # its lock file; a developer's running server must not interfere
    monkeypatch.setenv("DATABASE_URL", live_server.test_database_url())
    worker, second = EmbeddedWorker(), EmbeddedWorker()
    batch_id = create_batch(api, token, [embed_item("a"), chat_item("b")]).json()["data"]["id"]

    worker.start()
    second.start()  # another server process on this machine: the lock says one worker is enough
    try:
        assert worker.process is not None and second.process is None
        wait_for(lambda: batch_row(batch_id).status == "completed", timeout_s=30, what="the embedded worker")
    finally:
        process = worker.process
        worker.stop()
        second.stop()
    assert process is not None and process.poll() is not None
    assert UsageRecord.objects.count() == 2


@pytest.mark.models
def test_a_batch_on_the_real_local_models(api, token, local_models, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_RUNTIME_DIR", str(tmp_path))
    Model.objects.filter(id="smollm2-135m-instruct").update(config={"context_tokens": 512, "idle_exit_s": 0})
    model_runs, real_run = [], MicroBatcher._run
    monkeypatch.setattr(MicroBatcher, "_run", lambda self, jobs: (model_runs.append(len(jobs)), real_run(self, jobs)))
    requests = [
        chat_item("chat", text="Say hello.", model="smollm2-135m-instruct", max_tokens=8),
        embed_item("embed", text="A sentence to embed.", model="all-minilm-l6-v2"),
        *(embed_item(f"more-{i}", text=f"Sentence {i}.", model="all-minilm-l6-v2") for i in range(24)),
    ]
    batch_id = create_batch(api, token, requests).json()["data"]["id"]
    try:
        drain_tasks()
    finally:
        for backend in cached_backends():
            if isinstance(backend, LocalChatBackend):
                backend.supervisor.stop()
        async_to_sync(close_backends)()

    chat, embed, *more = api.get(f"/v1/batches/{batch_id}/results", token=token).json()["data"]["items"]
    assert chat["status"] == "completed", chat["error"]
    assert chat["response"]["choices"][0]["message"]["content"] and 0 < chat["usage"]["completion_tokens"] <= 8
    assert embed["status"] == "completed", embed["error"]
    vector = embed["response"]["items"][0]["embedding"]
    assert len(vector) == 384 and abs(sum(x * x for x in vector) - 1) < 1e-3
    assert all(item["status"] == "completed" for item in more) and UsageRecord.objects.count() == 26
    assert sum(model_runs) == 25 and max(model_runs) > 1  # concurrent items shared model runs
