"""What the services answer is already the schema's shape, in JSON's own types: the endpoints send
it without a response serializer (apps/inference/endpoints.py), and batch results store it as is.
Each case holds a service's data to its response serializer, which is what the schema documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from apps.customers.services import token_principal
from apps.inference.endpoints import CHAT_COMPLETIONS, COMPLETIONS, EMBEDDINGS, Endpoint
from tests.support.factories import make_fake_model, make_token

pytestmark = pytest.mark.django_db(transaction=True)

CASES = [
    (COMPLETIONS, {"model": "fake-chat", "prompt": "one two three", "max_tokens": 2}),
    (CHAT_COMPLETIONS, {"model": "fake-chat", "messages": [{"role": "user", "content": "hi there"}]}),
    (EMBEDDINGS, {"model": "fake-embed", "input": ["a", "b c"]}),
]


@pytest.mark.parametrize(("endpoint", "body"), CASES, ids=[endpoint.name for endpoint, _ in CASES])
def test_service_data_is_the_documented_shape_in_json_types(endpoint: Endpoint, body: dict[str, Any]) -> None:
    make_fake_model("fake-chat", kind="chat", reply_tokens=4)
    make_fake_model("fake-embed", kind="embedding", dimensions=4)
    principal = token_principal(make_token().token)
    validated = endpoint.request_serializer(data=body)
    validated.is_valid(raise_exception=True)

    data = async_to_sync(endpoint.run)(principal, endpoint.parse(validated.validated_data)).data

    assert json.loads(json.dumps(data)) == data  # no datetime, no tuple, no numpy value
    assert json.loads(json.dumps(endpoint.response_serializer(data).data)) == data
