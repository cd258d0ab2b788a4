"""`/health/live` and `/health/ready` (docs/deploy.md, "Health checks"): what a load balancer or an
orchestrator polls, outside the rate limit and the request log, with every failing check named."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from apps.models_registry.models import Model
from apps.operations.health import probe_results_clear
from apps.request_logs.models import RequestLog
from apps.request_logs.writer import request_log_writer
from tests.backends import fake_upstream
from tests.hardening.upstream_thread import upstream
from tests.support.factories import make_fake_model
from tests.support.live_server import free_port, live_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_probes() -> Iterator[None]:
    Model.objects.all().delete()  # each test's own models only (the seeded ones would start an engine)
    probe_results_clear()
    yield
    probe_results_clear()


def upstream_model(base_url: str, model_id: str = "upstream-chat", **config: object) -> None:
    Model.objects.create(
        id=model_id,
        kind="chat",
        backend="openai_compatible",
        config={"base_url": base_url, "upstream_model": "m", **config},
    )


def counting_models_route(hits: list[int], status: int = 200) -> fake_upstream.Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        return web.json_response({"object": "list", "data": []}, status=status)

    return handler


def test_liveness_answers_without_touching_anything(api):
    response = api.get("/health/live")

    assert response.status_code == 200 and response.json() == {"status": "alive"}
    assert response.headers["Cache-Control"] == "no-store"
    # Neither Django's middleware (it adds X-Frame-Options) nor the pipeline (X-Request-Id, limits).
    assert not {"X-Frame-Options", "X-Request-Id", "X-RateLimit-Limit"} & set(response.headers)


def test_readiness_reports_each_check(api):
    make_fake_model("fake-chat")
    make_fake_model("fake-embed", kind="embedding")

    response = api.get("/health/ready")

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["status"] == "ready" and document["failing"] == []
    assert set(document["checks"]) == {"database", "cache", "model:fake-chat", "model:fake-embed"}
    assert all(check["ok"] and check["detail"] for check in document["checks"].values())


def test_a_head_request_is_answered_and_other_methods_are_refused(api):
    assert api.request("HEAD", "/health/ready").status_code == 200
    refused = api.post("/health/live")
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD"
    assert api.get("/health/other").status_code == 404


def test_health_checks_are_outside_the_rate_limit_and_the_request_log(api):
    # Anonymous callers get 5 requests a second (RATE_LIMIT_ANONYMOUS_PER_SECOND); a balancer polls more.
    answers = [api.get(path).status_code for _ in range(15) for path in ("/health/live", "/health/ready")]
    assert answers == [200] * 30

    api.get("/v1/models")  # the control: an API request without a token is logged (as noise)
    request_log_writer.flush(everything=True)
    paths = list(RequestLog.objects.values_list("path", flat=True))
    assert paths == ["/v1/models"]


def test_an_unreachable_upstream_makes_the_server_not_ready_naming_the_model(api):
    make_fake_model("fake-chat")
    upstream_model(fake_upstream.refused_url())

    response = api.get("/health/ready")

    assert response.status_code == 503
    document = response.json()
    assert document["status"] == "not_ready" and document["failing"] == ["model:upstream-chat"]
    assert "not reachable" in document["checks"]["model:upstream-chat"]["detail"]
    assert document["checks"]["database"]["ok"] and document["checks"]["model:fake-chat"]["ok"]


def test_an_upstream_that_refuses_our_key_is_not_ready(api):
    hits: list[int] = []
    with upstream({"GET /v1/models": counting_models_route(hits, status=401)}) as url:
        upstream_model(url)
        document = api.get("/health/ready").json()

    assert document["failing"] == ["model:upstream-chat"]
    assert "answered HTTP 401" in document["checks"]["model:upstream-chat"]["detail"]


def test_polling_every_second_does_not_hammer_an_upstream(api, settings):
    settings.HEALTH_PROBE_CACHE_SECONDS = 60  # within one cache period, however slow this machine is
    hits: list[int] = []
    with upstream({"GET /v1/models": counting_models_route(hits)}) as url:
        upstream_model(url)
        answers = [api.get("/health/ready").status_code for _ in range(5)]
        first_period = len(hits)
        probe_results_clear()  # the period has passed
        api.get("/health/ready")

    assert answers == [200] * 5
    assert (first_period, len(hits)) == (1, 2)


def test_an_upstream_with_its_key_variable_unset_is_not_ready(api, monkeypatch):
    monkeypatch.delenv("HEALTH_TEST_UPSTREAM_KEY", raising=False)
    upstream_model("http://127.0.0.1:9", api_key_env="HEALTH_TEST_UPSTREAM_KEY")

    document = api.get("/health/ready").json()

    assert document["failing"] == ["model:upstream-chat"]
    assert "not configured" in document["checks"]["model:upstream-chat"]["detail"]


@pytest.mark.live
def test_an_unreachable_database_makes_the_server_not_ready_naming_it():
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"  # nothing listens there

    with live_server(env={"DATABASE_URL": nowhere, "REQUEST_LOG_ENABLED": "0"}) as url:
        live = httpx.get(f"{url}/health/live", timeout=10)
        ready = httpx.get(f"{url}/health/ready", timeout=10)

    assert live.status_code == 200
    assert ready.status_code == 503, ready.text
    document = ready.json()
    assert "database" in document["failing"] and not document["checks"]["database"]["ok"]
    assert document["checks"]["database"]["detail"]
    assert document["checks"]["cache"]["ok"]
