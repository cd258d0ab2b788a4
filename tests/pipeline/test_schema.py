"""The schema is a tested artifact: the committed openapi/schema.yaml is what the code generates,
it validates, and it carries the wire contract (envelope, errors, headers, Idempotency-Key)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml"


@pytest.fixture(scope="module")
def generated(django_db_blocker) -> str:
    out = StringIO()
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


def test_committed_schema_is_current(generated):
    assert generated == COMMITTED.read_text(), "openapi/schema.yaml is stale: run `make schema` (and `make sdk`)"


def test_every_operation_documents_the_contract():
    schema = yaml.safe_load(COMMITTED.read_text())
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                assert {"X-Request-Id", "X-RateLimit-Limit", "RateLimit"} <= set(response["headers"]), (path, status)
                refs = [c["schema"].get("$ref", "") for c in response.get("content", {}).values()]
                assert all(ref.endswith("Envelope") for ref in refs if ref), (path, method, status, refs)
            assert {"401", "429", "500"} <= set(operation["responses"])
            if method == "post":
                assert {"409", "422"} <= set(operation["responses"])
                assert {"$ref": "#/components/parameters/IdempotencyKey"} in operation["parameters"]


def test_component_names_are_meaningful():
    names = set(yaml.safe_load(COMMITTED.read_text())["components"]["schemas"])
    assert {"Meta", "Error", "ErrorEnvelope", "ErrorCode", "StreamChunkEnvelope", "StreamDoneEnvelope"} <= names
    assert {"CompletionRequest", "Completion", "ChatCompletionRequest", "ChatCompletion", "Model"} <= names
    assert not [name for name in names if name.startswith(("Input", "Output")) or "Serializer" in name]
