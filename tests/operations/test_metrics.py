"""GET /metrics: Prometheus counts by endpoint and status, rate-limit rejections, registered
gauges; staff or METRICS_TOKEN only, from loopback unless the setting opens it."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from apps.operations.metrics import register_gauge_source
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_token(settings) -> str:
    settings.METRICS_TOKEN = "scrape-me-7a1"
    return settings.METRICS_TOKEN


def test_requests_are_counted_by_endpoint_and_status(api, token, clock):
    before_ok = _sample("api_requests_total", endpoint="model-list", method="GET", status="200")
    before_404 = _sample("api_requests_total", endpoint="unknown-path", method="GET", status="404")
    before_latency = _sample("api_request_duration_seconds_count", endpoint="model-list", status="200")

    api.get("/v1/models", token=token)
    api.get("/v1/models", token=token)
    api.get("/v1/no/such/thing", token=token)

    assert _sample("api_requests_total", endpoint="model-list", method="GET", status="200") == before_ok + 2
    assert _sample("api_requests_total", endpoint="unknown-path", method="GET", status="404") == before_404 + 1
    assert _sample("api_request_duration_seconds_count", endpoint="model-list", status="200") == before_latency + 2


def test_rate_limit_rejections_are_counted_by_kind(api, clock, settings):
    issued = make_token(customer="bursty", rate=1)
    before_token, before_anonymous = (
        _sample("api_rate_limited_total", kind="token"),
        _sample("api_rate_limited_total", kind="anonymous"),
    )

    for _ in range(3):
        api.get("/v1/models", token=issued.secret)
    for _ in range(settings.RATE_LIMIT_ANONYMOUS_PER_SECOND + 2):
        api.get("/v1/models")

    assert _sample("api_rate_limited_total", kind="token") == before_token + 2
    assert _sample("api_rate_limited_total", kind="anonymous") == before_anonymous + 2


def test_staff_can_read_the_metrics(admin_client, api, token):
    api.get("/v1/models", token=token)
    register_gauge_source("engine_queue_depth", lambda: 3, documentation="Requests waiting for the engine.")
    register_gauge_source(
        "batch_backlog", lambda: {("queued",): 4, ("running",): 1}, documentation="Batch items.", labels=("state",)
    )

    response = admin_client.get("/metrics")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert 'api_requests_total{endpoint="model-list",method="GET",status="200"}' in body
    assert "engine_queue_depth 3.0" in body
    assert 'batch_backlog{state="queued"} 4.0' in body
    assert "request_log_buffered_rows" in body and "request_log_dropped_rows" in body


def test_a_failing_gauge_source_does_not_break_the_scrape(admin_client):
    register_gauge_source("broken_source", lambda: 1 / 0, documentation="Always fails.")

    response = admin_client.get("/metrics")

    assert response.status_code == 200
    assert "broken_source" not in response.content.decode()
    register_gauge_source("broken_source", lambda: 0, documentation="Fixed.")


def test_the_metrics_token_opens_it_to_a_scraper(transactional_db, metrics_token):
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})

    assert response.status_code == 200
    assert b"api_requests_total" in response.content


@pytest.mark.parametrize("authorization", ["", "Bearer wrong", "Basic c2NyYXBlLW1lLTdhMQ=="])
def test_without_staff_or_the_token_it_is_401(transactional_db, metrics_token, authorization):
    response = Client().get("/metrics", headers={"Authorization": authorization} if authorization else {})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_from_another_network_it_does_not_exist_even_with_the_token(transactional_db, metrics_token):
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})

    assert response.status_code == 404


def test_the_allowed_networks_are_a_setting(transactional_db, metrics_token, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    remote = Client(REMOTE_ADDR="203.0.113.9")

    assert remote.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).status_code == 200
    assert Client().get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).status_code == 404
