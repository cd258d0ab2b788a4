"""The OpenAI-compatible routes' own OpenAPI document (openapi/openai.yaml) is what the code
generates, and the `/v1` document does not list those routes."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import yaml
from django.core.management import call_command

OPENAPI = Path(__file__).resolve().parents[2] / "openapi"


def test_committed_openai_document_is_current(django_db_blocker):
    out = StringIO()
    with django_db_blocker.unblock():
        call_command(
            "spectacular",
            "--custom-settings",
            "apps.openai_api.schema.SETTINGS",
            "--validate",
            "--fail-on-warn",
            stdout=out,
        )

    assert out.getvalue() == (OPENAPI / "openai.yaml").read_text(), "openapi/openai.yaml is stale: run `make schema`"


def test_each_document_holds_its_own_routes():
    v1 = yaml.safe_load((OPENAPI / "schema.yaml").read_text())["paths"]
    openai = yaml.safe_load((OPENAPI / "openai.yaml").read_text())["paths"]

    assert all(path.startswith("/v1/") for path in v1)
    assert set(openai) == {
        "/openai/v1/chat/completions",
        "/openai/v1/completions",
        "/openai/v1/embeddings",
        "/openai/v1/models",
        "/openai/v1/models/{model_id}",
    }
