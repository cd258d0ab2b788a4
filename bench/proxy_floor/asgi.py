"""`uvicorn bench.proxy_floor.asgi:application`: Django set up from the floor's settings, served by
`ApiASGIHandler` (no Django middleware), exactly as `inference_platform.asgi` serves `/v1/`."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.proxy_floor.settings")
django.setup(set_prefix=False)

from apps.core.api_handler import ApiASGIHandler  # noqa: E402

application = ApiASGIHandler()
