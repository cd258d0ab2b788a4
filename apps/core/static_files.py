"""The admin's CSS/JS under uvicorn: Django's ASGIStaticFilesHandler, with one defect fixed.

Django's handler turns only Http404 into a response. A path that climbs out of the static root
(`/static/../settings.py`) raises SuspiciousFileOperation in its `safe_join` and became an unhandled
500; here it gets Django's own answer to a suspicious operation: 400, and a `django.security` log line.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest


class StaticFiles(ASGIStaticFilesHandler):
    async def get_response_async(self, request: HttpRequest) -> Any:
        try:
            return await super().get_response_async(request)
        except SuspiciousOperation as exc:
            return await sync_to_async(response_for_exception, thread_sensitive=False)(request, exc)
