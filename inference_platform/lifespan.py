"""ASGI lifespan: background work starts with the server and is flushed on a graceful shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from apps.backends.registry import close_backends
from apps.batches.embedded_worker import embedded_worker
from apps.core.parent_death import exit_with_uvicorn_master
from apps.request_logs.writer import request_log_writer
from apps.usage.rollup import usage_rollup


class Lifespan:
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                exit_with_uvicorn_master()
                request_log_writer.start()
                usage_rollup.start()
                embedded_worker.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # The last rows are written before the process exits; engines are released.
                await asyncio.to_thread(request_log_writer.stop)
                await asyncio.to_thread(usage_rollup.stop)
                await asyncio.to_thread(embedded_worker.stop)
                await close_backends()
                await send({"type": "lifespan.shutdown.complete"})
                return
