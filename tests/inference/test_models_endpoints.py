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
        "created_at": body["data"]["created_at"],
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
