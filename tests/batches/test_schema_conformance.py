"""Real batch objects validate against the committed schema: the batch on create, get, list and
cancel, its results page by page and as JSON Lines, with every state a field can be in (pending,
completed on each endpoint, failed, cancelled; a batch that failed as a whole). A schema that
rejects the server's own answers breaks every client that validates, and the SDKs' types with it."""

from __future__ import annotations

import json

import pytest

from apps.batches import lifecycle
from apps.batches.models import BatchJob
from tests.support.factories import make_fake_model
from tests.support.openapi import component_errors, response_errors

from .builders import chat_item, completion_item, create_batch, embed_item
from .workers import drain_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def assert_conforms(operation_id, response, status=200):
    assert response.status_code == status, response.text
    assert response_errors(operation_id, response) == []


def every_endpoint_and_a_failure():
    make_fake_model("broken", kind="chat", fail_after_tokens=0, fail_code="upstream_error")
    return [
        chat_item("chat"),
        completion_item("completion"),
        embed_item("embedding"),
        chat_item("failed", model="broken"),
    ]


def test_a_batch_and_its_results_match_the_schema_before_and_after_running(api, token):
    created = create_batch(api, token, every_endpoint_and_a_failure())
    assert_conforms("batches_create", created, status=201)
    batch_id = created.json()["data"]["id"]
    results = f"/v1/batches/{batch_id}/results"

    assert_conforms("batches_results", api.get(results, token=token))  # pending: nulls everywhere
    drain_tasks()

    assert_conforms("batches_retrieve", api.get(f"/v1/batches/{batch_id}", token=token))
    assert_conforms("batches_list", api.get("/v1/batches", token=token))
    assert_conforms("batches_cancel", api.post(f"/v1/batches/{batch_id}/cancel", token=token))
    page = api.get(f"{results}?limit=2", token=token)
    assert_conforms("batches_results", page)
    assert_conforms("batches_results", api.get(f"{results}?cursor={page.json()['data']['next_cursor']}", token=token))
    items = api.get(results, token=token).json()["data"]["items"]
    assert [(item["endpoint"], item["status"]) for item in items] == [
        ("/v1/chat/completions", "completed"),
        ("/v1/completions", "completed"),
        ("/v1/embeddings", "completed"),
        ("/v1/chat/completions", "failed"),
    ]


def test_each_json_line_is_a_batch_result(api, token):
    batch_id = create_batch(api, token, every_endpoint_and_a_failure()).json()["data"]["id"]
    drain_tasks()

    lines = api.get(f"/v1/batches/{batch_id}/results", token=token, headers={"Accept": "application/x-ndjson"})

    results = [json.loads(line) for line in lines.text.splitlines()]
    assert len(results) == 4
    for result in results:
        assert component_errors("BatchResult", result) == []


def test_a_cancelled_batch_and_its_cancelled_results_match_the_schema(api, token):
    batch_id = create_batch(api, token, [embed_item("a"), embed_item("b")]).json()["data"]["id"]

    assert_conforms("batches_cancel", api.post(f"/v1/batches/{batch_id}/cancel", token=token))
    drain_tasks()

    assert_conforms("batches_results", api.get(f"/v1/batches/{batch_id}/results", token=token))
    assert api.get(f"/v1/batches/{batch_id}", token=token).json()["data"]["status"] == "cancelled"


def test_a_batch_that_failed_as_a_whole_matches_the_schema(api, token):
    batch_id = create_batch(api, token, [embed_item("a")]).json()["data"]["id"]
    batch = BatchJob.objects.get(public_id=batch_id)
    lifecycle.batch_fail(batch_pk=batch.pk, error=lifecycle.token_gone_error())

    response = api.get(f"/v1/batches/{batch_id}", token=token)

    assert_conforms("batches_retrieve", response)
    assert response.json()["data"]["error"]["code"] == "permission_denied"
    assert_conforms("batches_results", api.get(f"/v1/batches/{batch_id}/results", token=token))


def test_the_schema_names_a_server():
    from tests.support.openapi import _document

    assert _document().get("servers"), "a client reading the schema needs a server URL"
