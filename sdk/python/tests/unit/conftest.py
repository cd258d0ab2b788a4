from __future__ import annotations

import pytest

from inference_platform_sdk import _http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait the SDK asks for, in seconds; none is actually waited in a unit test."""
    waits: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_http, "sleep", waits.append)
    monkeypatch.setattr(_http, "async_sleep", async_sleep)
    return waits


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.delenv("API_BASE_URL", raising=False)
