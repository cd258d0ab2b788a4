"""backend_for: names and configs to cached instances."""

from __future__ import annotations

import pytest

from apps.backends import registry
from apps.backends.fake import FakeBackend
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.core.errors import ServiceUnavailable

from .conftest import Runner


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    registry._cache.clear()


def test_same_name_and_config_share_one_instance() -> None:
    first = registry.backend_for(backend="fake", config={"reply_tokens": 3})

    assert isinstance(first, FakeBackend)
    assert registry.backend_for(backend="fake", config={"reply_tokens": 3}) is first
    assert registry.backend_for(backend="fake", config={"reply_tokens": 4}) is not first


def test_openai_compatible_reads_its_key_from_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPSTREAM_KEY_FOR_TEST", "sk-test")
    config = {"base_url": "http://127.0.0.1:9/v1", "upstream_model": "m", "api_key_env": "UPSTREAM_KEY_FOR_TEST"}

    backend = registry.backend_for(backend="openai_compatible", config=config)

    assert isinstance(backend, OpenAICompatibleBackend)
    assert backend.base_url == "http://127.0.0.1:9"
    assert backend._headers == {"Authorization": "Bearer sk-test"}


def test_a_missing_key_variable_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPSTREAM_KEY_FOR_TEST", raising=False)
    config = {"base_url": "http://127.0.0.1:9", "upstream_model": "m", "api_key_env": "UPSTREAM_KEY_FOR_TEST"}

    with pytest.raises(ServiceUnavailable):
        registry.backend_for(backend="openai_compatible", config=config)


@pytest.mark.parametrize(
    ("name", "config"),
    [("nope", {}), ("fake", {"reply_tokenz": 3}), ("local_chat", {"slotz": 2})],
    ids=["unknown-backend", "unknown-key", "unknown-engine-key"],
)
def test_unknown_names_and_keys_fail_loudly(name: str, config: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="unknown"):
        registry.backend_for(backend=name, config=config)


def test_close_backends_empties_the_cache(run: Runner) -> None:
    registry.backend_for(backend="fake", config={})

    run(registry.close_backends())

    assert registry.cached_backends() == []


def test_openai_compatible_with_replicas_builds_a_pool() -> None:
    config = {
        "upstream_model": "m",
        "replicas": ["http://gpu-1:8000/v1", {"url": "http://gpu-2:8000", "weight": 2, "max_in_flight": 4}],
        "cooldown_s": 3,
    }

    backend = registry.backend_for(backend="openai_compatible", config=config)

    assert isinstance(backend, OpenAICompatibleBackend)
    assert [(r.url, r.spec.weight, r.spec.max_in_flight) for r in backend.pool.replicas] == [
        ("http://gpu-1:8000", 1.0, None),
        ("http://gpu-2:8000", 2.0, 4),
    ]
    assert backend.pool.cooldown_s == 3
    assert registry.upstream_pools() == [backend.pool]


def test_a_single_base_url_is_a_pool_of_one() -> None:
    backend = registry.backend_for(
        backend="openai_compatible", config={"base_url": "http://h:1/v1", "upstream_model": "m"}
    )

    assert isinstance(backend, OpenAICompatibleBackend)
    assert [replica.url for replica in backend.pool.replicas] == ["http://h:1"]


def test_base_url_and_replicas_together_are_refused() -> None:
    config = {"base_url": "http://h:1", "replicas": ["http://h:2"], "upstream_model": "m"}

    assert registry.config_problems(backend="openai_compatible", config=config) == [
        "Give either 'base_url' or 'replicas', not both."
    ]
    with pytest.raises(ValueError, match="either"):
        registry.backend_for(backend="openai_compatible", config=config)
