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
