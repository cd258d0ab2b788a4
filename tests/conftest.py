"""Fixtures shared by the whole suite.

HTTP tests drive the real ASGI application (the lean `/v1/` handler, not Django's test client,
which would run the admin's middleware). The pipeline's database steps run in worker threads, so
those tests use `transactional_db`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.support import unclosed_sessions
from tests.support.api_client import ApiClient
from tests.support.clock import FrozenClock
from tests.support.factories import make_token


def pytest_sessionstart(session: pytest.Session) -> None:
    unclosed_sessions.install()
    if os.environ.get("REQUIRE_SERVICES") != "1":
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "apps.core.postgresql":
        raise pytest.UsageError(f"REQUIRE_SERVICES=1 but the database is {engine}: set DATABASE_URL")
    if not settings.REDIS_URL:
        raise pytest.UsageError("REQUIRE_SERVICES=1 but REDIS_URL is not set")
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()  # fails the run if down


def pytest_unconfigure(config: pytest.Config) -> None:
    # Django deletes the SQLite test database, but not the log files WAL mode keeps beside it.
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and not os.path.exists(name):
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{name}{suffix}")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # Sessions still referenced by a cycle are only found by a full collection.
    left = unclosed_sessions.left_open_since(_reported_unclosed, collect=True)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"FAILED: {len(left)} aiohttp session(s) left unclosed: {left[:3]}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_reported_unclosed = 0


@pytest.fixture(autouse=True)
def _no_unclosed_http_sessions() -> Iterator[None]:
    """An aiohttp session must be closed by whoever opened it (apps/backends/http_session.py closes the
    shared ones when their loop ends); one found left open fails the test during which it was found."""
    global _reported_unclosed
    mark = unclosed_sessions.count()
    yield
    left = unclosed_sessions.left_open_since(mark)
    _reported_unclosed = mark + len(left)
    if left:
        pytest.fail(f"{len(left)} aiohttp session(s) left open during this test: {left[:3]}")


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    from django.core.cache import cache

    from apps.core.shared_cache import shared_cache_breaker
    from apps.customers.token_cache import token_cache
    from apps.models_registry.catalog import catalog
    from apps.ratelimits.local_windows import local_windows
    from apps.request_logs.writer import request_log_writer

    shared_cache_breaker.reset()
    cache.clear()
    token_cache.clear()
    local_windows.clear()
    catalog.clear()
    yield
    request_log_writer.discard()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Freezes the rate limiter's clock 0.25 s into a second, so a test's requests share a window."""
    import types

    import django_ratelimit.core

    from apps.ratelimits import limiter

    frozen = FrozenClock(1_900_000_000.25)
    fake_time = types.SimpleNamespace(time=frozen.time)
    monkeypatch.setattr(django_ratelimit.core, "time", fake_time)
    monkeypatch.setattr(limiter, "time", fake_time)
    return frozen


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def token(transactional_db: None) -> str:
    """A valid token's secret for a fresh customer with the default limit."""
    return make_token(customer="acme").secret


@pytest.fixture
def local_models(transactional_db: None) -> None:
    """The seeded registry rows (transactional tests flush the data migration's rows)."""
    from apps.models_registry.seed import seed_local_models

    seed_local_models()
