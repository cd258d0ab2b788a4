"""The ASGI entry point: `uvicorn inference_platform.asgi:application`.

http      /v1/…, /openai/v1/… -> allowed hosts -> body guard -> lean API handler (no Django
                 middleware) -> the pipeline's HTTP door (the envelope, or OpenAI's wire format)
          /health/… -> liveness and readiness (apps/operations/health_app.py): a bare ASGI app,
                 outside Django's handler and the pipeline, cheap enough to poll every second (and
                 outside ALLOWED_HOSTS: balancers probe by address)
          other  -> static files (admin CSS/JS) or Django's normal handler (admin, docs)
websocket /v1/stream -> allowed hosts -> the pipeline's WebSocket door, with the request types
                 composed here
lifespan          -> start/stop the background writers (lifespan.py)
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inference_platform.settings.local")
django_application = get_asgi_application()  # sets Django up before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from apps.batches.views import batch_subscribe  # noqa: E402
from apps.core.allowed_hosts import AllowedHosts  # noqa: E402
from apps.core.api_handler import ApiASGIHandler, PrefixRouter  # noqa: E402
from apps.core.body_limit import BodyLimit  # noqa: E402
from apps.core.static_files import StaticFiles  # noqa: E402
from apps.inference.endpoints import socket_handlers  # noqa: E402
from apps.operations.health_app import HealthApp  # noqa: E402
from apps.pipeline.websocket import SocketConsumer  # noqa: E402
from inference_platform.lifespan import Lifespan  # noqa: E402

# Served by the lean API handler; every view under them is async (apps/core/api_handler.py).
API_PREFIXES = ("/v1/", "/openai/v1/")
# `/v1/stream` message types: completions and chat from the endpoint table, and batch progress.
SOCKET_HANDLERS = {**socket_handlers(), "batch.subscribe": batch_subscribe}

application = ProtocolTypeRouter(
    {
        "http": PrefixRouter(
            prefixes=("/health/",),
            api=HealthApp(),
            default=PrefixRouter(
                prefixes=API_PREFIXES,
                api=AllowedHosts(BodyLimit(ApiASGIHandler(), max_bytes=settings.API_MAX_BODY_BYTES)),
                default=StaticFiles(django_application),  # the admin's CSS/JS under uvicorn
            ),
        ),
        "websocket": AllowedHosts(URLRouter([path("v1/stream", SocketConsumer.as_asgi(handlers=SOCKET_HANDLERS))])),
        "lifespan": Lifespan(),
    }
)
