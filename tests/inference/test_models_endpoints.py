from __future__ import annotations

import pytest

from apps.models_registry.models import Model
from tests.support.envelope import assert_envelope, assert_error
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_get_model(api, token, local_models):
    body = assert_envelope(api.get("/v1/models/all-minilm-l6-v2", token=token))

    assert body["data"] == {
        "id": "all-minilm-l6-v2",
        "kind": "embedding",
        "description": Model.objects.get(id="all-minilm-l6-v2").description,
        "context_length": 256,
        "max_output_tokens": None,  # an embedding model generates no tokens
        "created_at": body["data"]["created_at"],
    }


def test_each_chat_model_says_how_many_tokens_it_generates_at_most(api, token, local_models):
    Model.objects.create(id="big", kind="chat", backend="fake")
    Model.objects.create(id="tuned", kind="chat", backend="fake", max_output_tokens=300)
    Model.objects.create(
        id="local-capped", kind="chat", backend="local_chat", config={"max_tokens_cap": 256}, max_output_tokens=1000
    )

    listed = {m["id"]: m["max_output_tokens"] for m in api.get("/v1/models", token=token).json()["data"]["items"]}

    # The local engine's own cap (512 by default) is the figure; the API's 4096 otherwise; an
    # operator's figure when lower; never more than what the backend would really generate.
    assert listed == {
        "all-minilm-l6-v2": None,
        "big": 4096,
        "local-capped": 256,
        "smollm2-135m-instruct": 512,
        "tuned": 300,
    }


def test_unknown_and_disabled_models_are_404(api, token, local_models):
    disabled = Model.objects.get(id="all-minilm-l6-v2")
    disabled.enabled = False
    disabled.save()  # as the admin does: every worker's catalog reloads

    assert_error(api.get("/v1/models/nope", token=token), 404, "not_found")
    assert_error(api.get("/v1/models/all-minilm-l6-v2", token=token), 404, "not_found")
    listed = api.get("/v1/models", token=token).json()["data"]["items"]
    assert [m["id"] for m in listed] == ["smollm2-135m-instruct"]


def test_token_scoped_to_models_sees_only_those(api, local_models):
    issued = make_token(customer="scoped")
    issued.token.allowed_models.set(["all-minilm-l6-v2"])

    listed = api.get("/v1/models", token=issued.secret).json()["data"]["items"]
    assert [m["id"] for m in listed] == ["all-minilm-l6-v2"]
    assert_error(api.get("/v1/models/smollm2-135m-instruct", token=issued.secret), 403, "permission_denied")


def test_cursor_pagination_walks_all_models_in_order(api, token, local_models):
    for i in range(5):
        Model.objects.create(id=f"extra-{i}", kind="chat", backend="fake")
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        data = api.get(f"/v1/models{query}", token=token).json()["data"]
        seen += [m["id"] for m in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break

    assert seen == sorted(Model.objects.values_list("id", flat=True))


@pytest.mark.parametrize("query,param", [("?limit=0", "limit"), ("?limit=abc", "limit"), ("?cursor=%%%", "cursor")])
def test_bad_pagination_is_400(api, token, query, param):
    error = assert_error(api.get(f"/v1/models{query}", token=token), 400, "invalid_request")
    assert error["param"] == param
