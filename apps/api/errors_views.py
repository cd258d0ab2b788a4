"""Answers for what no endpoint handles: unknown `/v1/` paths, and Django-level crashes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from apps.core.envelope import failure, new_request_id
from apps.core.errors import InternalError, NotFound

from .pipeline import ApiView


@extend_schema(exclude=True)
class UnknownPathView(ApiView):
    """The last `/v1/` route: an authenticated, rate-limited 404 in the envelope."""

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise NotFound(f"No endpoint at {request.path}.")

    get = post = put = patch = delete = _not_found


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Inside `/v1/` an envelope, never a traceback; elsewhere Django's page."""
    if not request.path.startswith("/v1/"):
        return django_server_error(request)
    request_id = getattr(request, "request_id", None) or new_request_id()
    response = JsonResponse(failure(InternalError().as_dict(), request_id=request_id), status=500)
    response["X-Request-Id"] = request_id
    return response
