"""`uvicorn bench.django_floor.asgi:application`: Django set up from the bench settings, served by
`ApiASGIHandler` (no Django middleware), exactly as `inference_platform.asgi` serves `/v1/`.

`bench.django_floor.asgi:with_signals`: the same, but with Django's own `ASGIHandler.handle`, which
sends the request signals (a thread made per request): an async view as stock Django serves it."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_floor.settings")
django.setup(set_prefix=False)

from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from apps.core.api_handler import ApiASGIHandler  # noqa: E402


class WithSignals(ApiASGIHandler):
    handle = ASGIHandler.handle  # type: ignore[assignment]


application = ApiASGIHandler()
with_signals = WithSignals()
