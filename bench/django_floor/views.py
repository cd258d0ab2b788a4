"""An async view, so Django runs it on the event loop with no thread hand-off of its own."""

from __future__ import annotations

import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse

BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()


async def models_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BODY, content_type="application/json")
