"""A small synchronous client for the real ASGI application, for tests at the HTTP boundary."""

from __future__ import annotations

from typing import Any

import httpx
from asgiref.sync import async_to_sync


class ApiClient:
    def __init__(self, *, client_ip: str = "127.0.0.1") -> None:
        from inference_platform.asgi import application

        self._transport = httpx.ASGITransport(app=application, client=(client_ip, 40000))

    def request(
        self, method: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        all_headers.update(headers or {})
        return async_to_sync(self._send)(method, path, headers=all_headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        async with httpx.AsyncClient(transport=self._transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kw)
