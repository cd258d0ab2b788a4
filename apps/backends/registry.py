"""Backend names (the model registry's `backend` column) to live instances, one per name + config.

Instances are cached for the life of the process: they hold pools, threads and engine handles that
must be shared by every request. Config keys per backend:
- `local_chat`: slots, context_tokens, threads, idle_exit_s (the engine is one per machine: the worker
  that starts it decides these), system_prompt, repeat_penalty, max_tokens_cap, read_timeout_s,
  extra_body (more llama.cpp sampling options), admission_timeout_s (the longest wait for a free
  engine slot; default ENGINE_ADMISSION_TIMEOUT_SECONDS). The runtime dir comes from ENGINE_RUNTIME_DIR.
- `local_embeddings`: max_batch_size, max_queue, truncate, threads (no wait window: apps/backends/microbatcher.py).
- `openai_compatible`: base_url (one server) or replicas (a pool: upstream_config), cooldown_s,
  upstream_model, api_key_env (the NAME of the env var holding the key, so no secret is stored in
  the database), connect_timeout_s, read_timeout_s, extra_body.
- `fake`: token_delay_s, reply_tokens, fail_after_tokens, fail_code, dimensions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.backends.base import Backend
from apps.backends.engine_supervisor import EngineSpec, EngineSupervisor
from apps.backends.fake import FakeBackend, FakeConfig
from apps.backends.http_session import close_shared_session
from apps.backends.local_chat import ChatDefaults, LocalChatBackend
from apps.backends.local_embeddings import LocalEmbeddingsBackend
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.upstream_config import POOL_KEYS, cooldown_s, replica_specs, upstream_problems
from apps.backends.upstream_pool import UpstreamPool
from apps.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

ENGINE_KEYS = ("slots", "context_tokens", "threads", "idle_exit_s")
CHAT_KEYS = ("system_prompt", "repeat_penalty", "max_tokens_cap", "read_timeout_s", "extra_body", "admission_timeout_s")
UPSTREAM_KEYS = (
    "upstream_model",
    "connect_timeout_s",
    "read_timeout_s",
    "extra_body",
    "always_stream",
    "close_after_stream",
)
EMBEDDINGS_KEYS = ("max_batch_size", "max_queue", "truncate", "threads")
FAKE_KEYS = ("token_delay_s", "reply_tokens", "fail_after_tokens", "fail_code", "dimensions")

_cache: dict[tuple[str, str], Backend] = {}
_lock = threading.Lock()


def backend_for(*, backend: str, config: dict[str, Any]) -> Backend:
    key = (backend, json.dumps(config, sort_keys=True))
    with _lock:
        if key not in _cache:
            _cache[key] = _build(backend, config)
        return _cache[key]


def cached_backends() -> list[Backend]:
    with _lock:
        return list(_cache.values())


def cached_backend(*, backend: str, config: dict[str, Any]) -> Backend | None:
    """The instance `backend_for` built in this process for this name + config, if any (builds none)."""
    with _lock:
        return _cache.get((backend, json.dumps(config, sort_keys=True)))


def upstream_pools() -> list[UpstreamPool]:
    """The replica pools of this process's OpenAI-compatible backends (/metrics, the admin)."""
    return [backend.pool for backend in cached_backends() if isinstance(backend, OpenAICompatibleBackend)]


async def close_backends() -> None:
    """Close every cached backend and this loop's HTTP pool (ASGI lifespan shutdown; tests)."""
    with _lock:
        backends = list(_cache.values())
        _cache.clear()
    for instance in backends:
        await instance.aclose()
    await close_shared_session()


def _build(backend: str, config: dict[str, Any]) -> Backend:
    factory = BUILDERS.get(backend)
    if factory is None:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(sorted(BUILDERS))}")
    return factory(config)


def _local_chat(config: dict[str, Any]) -> Backend:
    _check_keys(config, ENGINE_KEYS + CHAT_KEYS)
    spec = EngineSpec(**_pick(config, ENGINE_KEYS))
    defaults = ChatDefaults(
        **{"admission_timeout_s": settings.ENGINE_ADMISSION_TIMEOUT_SECONDS, **_pick(config, CHAT_KEYS)}
    )
    return LocalChatBackend(supervisor=EngineSupervisor(spec), defaults=defaults)


def _local_embeddings(config: dict[str, Any]) -> Backend:
    _check_keys(config, EMBEDDINGS_KEYS)
    return LocalEmbeddingsBackend(**config)


def _openai_compatible(config: dict[str, Any]) -> Backend:
    _check_keys(config, OPENAI_COMPATIBLE_KEYS)
    problems = upstream_problems(config)
    if problems:
        raise ValueError(" ".join(problems))
    return OpenAICompatibleBackend(
        replicas=replica_specs(config),
        cooldown_s=cooldown_s(config),
        api_key=_api_key(config.get("api_key_env")),
        **_pick(config, UPSTREAM_KEYS),
    )


def _fake(config: dict[str, Any]) -> Backend:
    _check_keys(config, FAKE_KEYS)
    return FakeBackend(FakeConfig(**config))


def output_token_cap(*, backend: str, config: dict[str, Any]) -> int | None:
    """The most tokens a backend generates per request by its own configuration (None: no cap of
    its own). The local engine's cap keeps a 135M model from looping for thousands of tokens."""
    if backend == "local_chat":
        return int(config.get("max_tokens_cap", ChatDefaults().max_tokens_cap))
    return None


OPENAI_COMPATIBLE_KEYS = ("base_url", *POOL_KEYS, *UPSTREAM_KEYS, "api_key_env")
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {"openai_compatible": ("upstream_model",)}
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "local_chat": ENGINE_KEYS + CHAT_KEYS,
    "local_embeddings": EMBEDDINGS_KEYS,
    "openai_compatible": OPENAI_COMPATIBLE_KEYS,
    "fake": FAKE_KEYS,
}


def config_problems(*, backend: str, config: dict[str, Any]) -> list[str]:
    """What is wrong with a registry row's config, in words for the operator (empty: nothing)."""
    if backend not in ALLOWED_KEYS:
        return [f"Unknown backend {backend!r}."]
    allowed, required = ALLOWED_KEYS[backend], REQUIRED_KEYS.get(backend, ())
    problems = [f"Unknown key {key!r}; allowed: {', '.join(allowed)}." for key in sorted(set(config) - set(allowed))]
    problems += [f"Missing {key!r}." for key in required if not config.get(key)]
    if backend == "openai_compatible":
        problems += upstream_problems(config)
        if config.get("api_key") is not None:
            problems.append("Put the key in an environment variable and name it in 'api_key_env'.")
    return problems


def _api_key(env_name: str | None) -> str | None:
    if not env_name:
        return None
    key = os.environ.get(env_name)
    if not key:
        # The variable's name is not a secret; its value would be, and is never logged.
        logger.error("upstream API key variable %s is not set", env_name)
        raise ServiceUnavailable("The model backend is not configured; an operator has to fix it.")
    return key


def _check_keys(config: dict[str, Any], allowed: tuple[str, ...]) -> None:
    # A typo in an admin-edited config should fail loudly, not silently fall back to a default.
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(f"unknown backend config keys {unknown}; allowed: {sorted(allowed)}")


def _pick(config: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: config[key] for key in keys if key in config}


BUILDERS: dict[str, Callable[[dict[str, Any]], Backend]] = {
    "local_chat": _local_chat,
    "local_embeddings": _local_embeddings,
    "openai_compatible": _openai_compatible,
    "fake": _fake,
}
