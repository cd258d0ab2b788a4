from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from inference_platform_sdk import AsyncClient, Client

from .server import BASE_URL, TOKENS, Recorder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(token=TOKENS["main"], base_url=BASE_URL) as api:
        yield api


@pytest.fixture
async def async_client() -> AsyncIterator[AsyncClient]:
    async with AsyncClient(token=TOKENS["main"], base_url=BASE_URL) as api:
        yield api


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
