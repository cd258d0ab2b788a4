"""Liveness and readiness for load balancers and orchestrators (docs/deploy.md, "Health checks").

Ready means this process can serve: the database answers a query, the shared cache stores and
returns a value, and every enabled model's backend can take a request (the local chat engine is
running and answers its /health, the local embedding model is loaded or its files are there, an
OpenAI-compatible upstream answers a GET of its model list).

Cheap enough to poll every second: the database and cache checks are one small round trip each,
in a worker thread; probes that cross the network to a model backend are cached for a moment
(`HEALTH_PROBE_CACHE_SECONDS`), so several balancers polling every second do not hammer an
upstream. Every check is bounded (`HEALTH_CHECK_TIMEOUT_SECONDS`), and a blocking check that is
still stuck is not started again: a hung database holds one thread, not one per poll.

A local chat engine that is not running is reported not ready and started in the background: the
balancer sends no traffic to a process that is not ready, so no request would ever restart it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import close_old_connections, connection

from apps.backends.engine_files import EngineState
from apps.backends.engine_supervisor import EngineSupervisor
from apps.backends.http_session import shared_session
from apps.backends.local_chat import LocalChatBackend
from apps.backends.local_embeddings import LocalEmbeddingsBackend
from apps.backends.model_files import ModelFilesMissing, minilm_onnx, minilm_tokenizer
from apps.backends.openai_compatible import OpenAICompatibleBackend
from apps.backends.registry import backend_for
from apps.models_registry.catalog import CatalogModel, catalog

logger = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 200
type Probe = Callable[[], Awaitable[str]]  # what is fine, in words; raises NotReady (or anything) if not


class NotReady(Exception):
    """A check's failure, in words for the operator."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def document(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not_ready",
            "failing": [check.name for check in self.checks if not check.ok],
            "checks": {
                check.name: {"ok": check.ok, "detail": check.detail, "ms": round(check.ms, 2)} for check in self.checks
            },
        }


async def readiness() -> Readiness:
    database, cache_check, models = await asyncio.gather(
        _checked("database", _database.run), _checked("cache", _cache_ready), _model_checks()
    )
    return Readiness((database, cache_check, *models))


async def _checked(name: str, probe: Probe) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = True, await asyncio.wait_for(probe(), _timeout_s())
    except Exception as exc:  # any failure is an answer here: "not ready, because …"
        # Polled every second: the answer carries the reason, the log only the details on demand.
        logger.debug("readiness check %s failed", name, exc_info=True)
        ok, detail = False, _failure(exc)
    return Check(name, ok, detail[:MAX_DETAIL_CHARS], (time.perf_counter() - started) * 1000)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, NotReady):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {_timeout_s():g} s"
    return _described(exc)


def _described(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def _timeout_s() -> float:
    return float(settings.HEALTH_CHECK_TIMEOUT_SECONDS)


def _probe_cache_s() -> float:
    return float(settings.HEALTH_PROBE_CACHE_SECONDS)


# --- the stores -------------------------------------------------------------------------------


class _BlockingProbe[T]:
    """A blocking check run in a worker thread, one at a time per process."""

    def __init__(self, check: Callable[[], T]) -> None:
        self._check = check
        self._busy = threading.Lock()

    async def run(self) -> T:
        if not self._busy.acquire(blocking=False):
            raise NotReady("the previous check is still waiting for an answer")

        def in_thread() -> T:
            try:
                return self._check()
            finally:
                self._busy.release()

        return await asyncio.to_thread(in_thread)


def _query_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return f"{connection.vendor} answers"
    finally:
        close_old_connections()  # this thread's connection goes back (to the pool, on PostgreSQL)


def _write_and_read_cache() -> str:
    # One key per process: two workers checking at once must not read each other's value.
    key, value = f"health:probe:{socket.gethostname()}:{os.getpid()}", secrets.token_hex(4)
    cache.set(key, value, timeout=60)
    if cache.get(key) != value:
        raise NotReady("the cache did not return the value just stored")
    return f"{type(caches['default']).__name__} stores and returns values"


_database = _BlockingProbe(_query_database)
_shared_cache = _BlockingProbe(_write_and_read_cache)


async def _cache_ready() -> str:
    if isinstance(caches["default"], LocMemCache):
        return _write_and_read_cache()  # this process's memory: no I/O, no thread needed
    return await _shared_cache.run()


# --- the models ---------------------------------------------------------------------------------


async def _model_checks() -> list[Check]:
    started = time.perf_counter()
    try:
        models = catalog.fresh()  # in memory, nearly always
        if models is None:
            models = await asyncio.wait_for(_catalog_read.run(), _timeout_s())
    except Exception as exc:
        detail = f"the model registry could not be read ({_failure(exc)})"
        return [Check("models", False, detail[:MAX_DETAIL_CHARS], (time.perf_counter() - started) * 1000)]
    checks = [_checked(f"model:{model.id}", partial(_model_ready, model)) for model in models.values()]
    return list(await asyncio.gather(*checks))


def _read_catalog() -> dict[str, CatalogModel]:
    try:
        return catalog.enabled()
    finally:
        close_old_connections()


_catalog_read = _BlockingProbe(_read_catalog)


async def _model_ready(model: CatalogModel) -> str:
    backend = backend_for(backend=model.backend, config=model.config)
    if isinstance(backend, LocalChatBackend):
        return await _local_chat_ready(backend.supervisor)
    if isinstance(backend, LocalEmbeddingsBackend):
        return _local_embeddings_ready(backend)
    if isinstance(backend, OpenAICompatibleBackend):
        return await _upstream_ready(backend)
    return f"{model.backend} backend, nothing to reach"


async def _local_chat_ready(supervisor: EngineSupervisor) -> str:
    state = supervisor.running()
    if state is None or not supervisor.in_use:
        # Started, or joined as a user so that it does not exit while this worker serves.
        _start_in_background(supervisor)
    if state is None:
        raise NotReady("the local chat engine is not running; starting it")
    problem = await _cached(("engine", state.base_url, state.pid), partial(_engine_problem, state))
    if problem is not None:
        raise NotReady(problem)
    return f"local chat engine (pid {state.pid}) answers"


async def _engine_problem(state: EngineState) -> str | None:
    timeout = aiohttp.ClientTimeout(total=_timeout_s() * 0.9)  # inside the check's own bound
    async with shared_session().get(state.base_url + "/health", timeout=timeout) as response:
        # llama.cpp's server answers 503 while it loads the model.
        return None if response.status == 200 else f"the local chat engine answered HTTP {response.status}"


def _local_embeddings_ready(backend: LocalEmbeddingsBackend) -> str:
    global _embedding_files_found
    if backend.loaded:
        return "local embedding model loaded"
    if not _embedding_files_found:  # installed files stay installed: looked for once
        try:
            minilm_onnx(), minilm_tokenizer()
        except ModelFilesMissing as exc:
            raise NotReady(str(exc)) from exc
        _embedding_files_found = True
    return "local embedding model loads on first use; its files are there"


_embedding_files_found = False


async def _upstream_ready(backend: OpenAICompatibleBackend) -> str:
    problem = await _cached(("upstream", id(backend)), partial(backend.unreachable, timeout_s=_timeout_s() * 0.9))
    if problem is not None:
        raise NotReady(problem)
    return f"{backend.base_url} answers"


# --- probe results, kept for a moment -----------------------------------------------------------

_probe_results: dict[tuple[object, ...], tuple[float, str | None]] = {}


async def _cached(key: tuple[object, ...], probe: Callable[[], Awaitable[str | None]]) -> str | None:
    """A probe's answer (a problem, or None), asked again only after HEALTH_PROBE_CACHE_SECONDS."""
    now = time.monotonic()
    hit = _probe_results.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        problem = await probe()
    except Exception as exc:
        problem = _described(exc)
    _probe_results[key] = (time.monotonic() + _probe_cache_s(), problem)
    return problem


def probe_results_clear() -> None:
    """Forget the kept probe answers (tests)."""
    _probe_results.clear()


# --- starting the local engine ------------------------------------------------------------------

_starting: set[int] = set()
_starting_lock = threading.Lock()


def _start_in_background(supervisor: EngineSupervisor) -> None:
    with _starting_lock:
        if id(supervisor) in _starting:
            return
        _starting.add(id(supervisor))

    def start() -> None:
        try:
            supervisor.ensure()
        except Exception:
            logger.warning("readiness: the local chat engine did not start", exc_info=True)
        finally:
            with _starting_lock:
                _starting.discard(id(supervisor))

    threading.Thread(target=start, name="health-engine-start", daemon=True).start()


def engine_starting(supervisor: EngineSupervisor) -> bool:
    """Whether a readiness check is starting this engine right now (tests wait on it)."""
    with _starting_lock:
        return id(supervisor) in _starting
