"""Operators add an OpenAI-compatible upstream in the admin; bad configs are refused there."""

from __future__ import annotations

import pytest

from apps.models_registry.models import Model

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/admin/models_registry/model/add/"


def form(**overrides):
    return {
        "id": "gpu-llama",
        "kind": "chat",
        "backend": "openai_compatible",
        "config": '{"base_url": "http://gpu-host:8000/v1", "upstream_model": "llama-3", "api_key_env": "GPU_KEY"}',
        "description": "",
        "context_length": "8192",
        "enabled": "on",
        **overrides,
    }


def test_operator_adds_an_upstream_model(admin_client):
    response = admin_client.post(URL, form())

    assert response.status_code == 302
    model = Model.objects.get(id="gpu-llama")
    assert model.config["api_key_env"] == "GPU_KEY" and model.enabled


@pytest.mark.parametrize(
    "config,message",
    [
        ('{"upstream_model": "x"}', "Missing &#x27;base_url&#x27;"),
        ('{"base_url": "gpu:8000", "upstream_model": "x"}', "must start with http"),
        ('{"base_url": "http://h", "upstream_model": "x", "api_key": "sk-123"}', "environment variable"),
        ('{"base_url": "http://h", "upstream_model": "x", "timeout": 3}', "Unknown key"),
    ],
)
def test_bad_upstream_configs_are_refused(admin_client, config, message):
    response = admin_client.post(URL, form(config=config))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Model.objects.filter(id="gpu-llama").exists()


def test_local_backends_fix_the_kind(admin_client):
    response = admin_client.post(URL, form(backend="local_embeddings", kind="chat", config="{}"))
    assert "serves embedding models" in response.content.decode()
