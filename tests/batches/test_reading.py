"""Reading batches: list, detail, results as JSON pages and as JSON Lines, progress events, and
another customer's batch is 404 everywhere."""

from __future__ import annotations

import json

import pytest

from apps.batches.models import BatchJob
from tests.support.envelope import REQUEST_ID, assert_envelope, assert_error, assert_rate_limit_headers
from tests.support.factories import make_fake_model, make_token

from .builders import chat_item, create_batch, embed_item
from .workers import drain_tasks, draining_in_background

pytestmark = pytest.mark.django_db(transaction=True)


def new_batch(api, token, count=1):
    return create_batch(api, token, [embed_item(str(i), text=f"t {i}") for i in range(count)]).json()["data"]["id"]


def test_list_is_newest_first_with_a_cursor(api, token):
    ids = [new_batch(api, token) for _ in range(3)]

    first = api.get("/v1/batches?limit=2", token=token)
    page = assert_envelope(first)["data"]
    second = api.get(f"/v1/batches?limit=2&cursor={page['next_cursor']}", token=token).json()["data"]

    assert [b["id"] for b in page["items"]] == [ids[2], ids[1]]
    assert [b["id"] for b in second["items"]] == [ids[0]] and second["next_cursor"] is None


def test_list_shows_only_the_callers_batches(api, token):
    new_batch(api, token)
    other = make_token(customer="other").secret

    assert api.get("/v1/batches", token=other).json()["data"] == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("method,suffix", [("GET", ""), ("GET", "/results"), ("GET", "/events"), ("POST", "/cancel")])
def test_another_customers_batch_is_not_found(api, token, method, suffix):
    batch_id = new_batch(api, token)
    other = make_token(customer="other").secret

    assert_error(api.request(method, f"/v1/batches/{batch_id}{suffix}", token=other), 404, "not_found")
    assert_error(api.request(method, f"/v1/batches/batch_nope{suffix}", token=token), 404, "not_found")


def test_results_pages_and_json_lines_agree(api, token):
    make_fake_model("broken", kind="chat", fail_after_tokens=0, fail_code="invalid_request")
    requests = [embed_item(f"e{i}", text=f"t {i}") for i in range(5)] + [chat_item("bad", model="broken")]
    batch_id = create_batch(api, token, requests).json()["data"]["id"]
    drain_tasks()

    pages, cursor = [], ""
    for _ in range(10):
        page = api.get(f"/v1/batches/{batch_id}/results?limit=4{cursor}", token=token).json()["data"]
        pages += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    lines = api.get(f"/v1/batches/{batch_id}/results", token=token, headers={"Accept": "application/x-ndjson"})

    assert lines.status_code == 200
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    assert_rate_limit_headers(lines)
    assert REQUEST_ID.match(lines.headers["X-Request-Id"])
    assert [json.loads(line) for line in lines.text.splitlines()] == pages
    assert [item["custom_id"] for item in pages] == [r["custom_id"] for r in requests]
    assert pages[-1]["status"] == "failed" and pages[0]["usage"]["total_tokens"] == 2


def test_results_of_a_queued_batch_are_pending(api, token):
    batch_id = new_batch(api, token, count=2)

    items = api.get(f"/v1/batches/{batch_id}/results", token=token).json()["data"]["items"]

    assert items == [
        {
            "custom_id": str(i),
            "endpoint": "/v1/embeddings",
            "status": "pending",
            "response": None,
            "error": None,
            "usage": None,
        }
        for i in range(2)
    ]


def parse_sse(text):
    events = []
    for block in text.strip().split("\n\n"):
        if not block.startswith(":"):
            lines = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_events_stream_progress_then_done(api, token, settings):
    settings.BATCH_EVENTS_POLL_SECONDS = 0.05
    settings.BATCH_ITEM_CONCURRENCY = 1
    make_fake_model("slow-chat", kind="chat", reply_tokens=2, token_delay_s=0.05)
    batch_id = create_batch(api, token, [chat_item(str(i), model="slow-chat") for i in range(6)]).json()["data"]["id"]
    with draining_in_background():
        response = api.get(f"/v1/batches/{batch_id}/events", token=token)

    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    assert_rate_limit_headers(response)
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"progress"} and len(names) >= 3
    completed = [envelope["data"]["counts"]["completed"] for _, envelope in events]
    assert completed == sorted(completed) and completed[-1] == 6
    assert events[-1][1]["data"]["status"] == "completed"
    assert {envelope["meta"]["request_id"] for _, envelope in events} == {response.headers["X-Request-Id"]}


def test_a_failure_after_the_200_ends_the_events_with_an_error_event(api, token, monkeypatch):
    batch_id = new_batch(api, token)

    async def progress_then_database_gone(**kwargs):
        yield {"event": "progress", "data": {"id": batch_id}}
        raise ConnectionError("database gone")

    monkeypatch.setattr("apps.batches.progress.batch_progress_events", progress_then_database_gone)
    response = api.get(f"/v1/batches/{batch_id}/events", token=token)

    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["progress", "error"]
    assert events[1][1]["error"]["code"] == "internal_error" and events[1][1]["data"] is None


def test_events_of_a_finished_batch_are_one_done_event(api, token):
    batch_id = new_batch(api, token)
    drain_tasks()

    events = parse_sse(api.get(f"/v1/batches/{batch_id}/events", token=token).text)

    assert [name for name, _ in events] == ["done"]
    assert events[0][1]["data"]["counts"]["completed"] == 1


def test_the_backlog_is_on_metrics(api, token, admin_client):
    running = create_batch(api, token, [embed_item(str(i)) for i in range(3)]).json()["data"]["id"]
    create_batch(api, token, [embed_item("q")])
    BatchJob.objects.filter(public_id=running).update(status=BatchJob.Status.RUNNING, completed_count=1)
    done = new_batch(api, token, count=2)
    BatchJob.objects.filter(public_id=done).update(status=BatchJob.Status.COMPLETED, completed_count=2)

    body = admin_client.get("/metrics").content.decode()

    assert 'batches_open{status="queued"} 1.0' in body and 'batches_open{status="running"} 1.0' in body
    assert "batch_items_waiting 3.0" in body  # 2 of the running batch, 1 of the queued one
