"""A pool of upstream replicas in the admin (config checks, each replica's state) and on /metrics."""

from __future__ import annotations

import json

import pytest

from apps.backends import registry
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.models_registry.models import Model

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = {
    "upstream_model": "llama-3",
    "replicas": ["http://gpu-1:8000/v1", {"url": "http://gpu-2:8000", "weight": 2, "max_in_flight": 8}],
    "cooldown_s": 10,
}


def form(config: dict | str) -> dict[str, str]:
    return {
        "id": "gpu-pool",
        "kind": "chat",
        "backend": "openai_compatible",
        "config": config if isinstance(config, str) else json.dumps(config),
        "description": "",
        "context_length": "8192",
        "enabled": "on",
    }


@pytest.fixture(autouse=True)
def empty_backend_cache():
    registry._cache.clear()
    yield
    registry._cache.clear()


def test_operator_adds_a_pooled_model(admin_client):
    response = admin_client.post("/admin/models_registry/model/add/", form(CONFIG))

    assert response.status_code == 302
    assert Model.objects.get(id="gpu-pool").config["replicas"][1]["weight"] == 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**CONFIG, "base_url": "http://gpu-3:8000"}, "either &#x27;base_url&#x27; or &#x27;replicas&#x27;"),
        ({**CONFIG, "replicas": []}, "non-empty list"),
        ({**CONFIG, "replicas": ["gpu-1:8000"]}, "replicas[0] must be a URL"),
        ({**CONFIG, "replicas": [{"url": "http://a", "weight": 0}]}, "replicas[0].weight must be a number above 0"),
        ({**CONFIG, "replicas": [{"url": "http://a", "max_in_flight": 0}]}, "max_in_flight must be a whole number"),
        ({**CONFIG, "replicas": [{"url": "http://a", "port": 1}]}, "unknown key &#x27;port&#x27;"),
        ({**CONFIG, "replicas": ["http://a/v1", "http://a"]}, "listed twice"),
        ({**CONFIG, "cooldown_s": -1}, "cooldown_s"),
    ],
    ids=["both", "empty", "not-a-url", "weight", "cap", "unknown-key", "twice", "cooldown"],
)
def test_bad_pool_configs_are_refused(admin_client, config, message):
    response = admin_client.post("/admin/models_registry/model/add/", form(config))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Model.objects.filter(id="gpu-pool").exists()


def _used_pool() -> OpenAICompatibleBackend:
    """The pool as this process's requests left it: one request in flight on gpu-2, gpu-1 ejected."""
    Model.objects.create(id="gpu-pool", kind="chat", backend="openai_compatible", config=CONFIG)
    backend = registry.backend_for(backend="openai_compatible", config=CONFIG)
    assert isinstance(backend, OpenAICompatibleBackend)
    gpu_1, gpu_2 = backend.pool.replicas
    backend.pool._failed(gpu_1, "connect failed")
    backend.pool.lease()  # goes to gpu-2, the healthy one, and stays in flight
    return backend


def test_the_change_page_shows_each_replicas_state(admin_client):
    _used_pool()

    page = admin_client.get("/admin/models_registry/model/gpu-pool/change/").content.decode()

    assert "Replica states" in page and "each worker keeps its own" in page
    assert "<td>http://gpu-1:8000</td><td>ejected 0s ago</td><td>0</td>" in page
    assert "<td>connect failed</td>" in page
    assert "<td>http://gpu-2:8000</td><td>healthy</td><td>1 / 8</td><td>2</td>" in page


def test_the_change_list_sums_the_replicas_up(admin_client):
    _used_pool()

    page = admin_client.get("/admin/models_registry/model/").content.decode()

    assert "1/2 healthy, 1 in flight" in page


def test_a_pool_no_request_has_used_in_this_worker_says_so(admin_client):
    Model.objects.create(id="gpu-pool", kind="chat", backend="openai_compatible", config=CONFIG)

    page = admin_client.get("/admin/models_registry/model/gpu-pool/change/").content.decode()

    assert "Not used by this worker yet" in page and "http://gpu-1:8000, http://gpu-2:8000" in page


def test_metrics_show_in_flight_health_errors_and_ejections(admin_client):
    _used_pool()

    body = admin_client.get("/metrics").content.decode()

    assert 'upstream_replica_in_flight{model="llama-3",replica="gpu-2:8000"} 1.0' in body
    assert 'upstream_replica_up{model="llama-3",replica="gpu-1:8000"} 0.0' in body
    assert 'upstream_replica_up{model="llama-3",replica="gpu-2:8000"} 1.0' in body
    assert 'upstream_replica_errors_total{model="llama-3",replica="gpu-1:8000"}' in body
    assert 'upstream_replica_ejections_total{model="llama-3",replica="gpu-1:8000"}' in body
