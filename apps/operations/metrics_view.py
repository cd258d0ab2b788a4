"""GET /metrics for Prometheus: staff session or `Authorization: Bearer $METRICS_TOKEN`, and only
from METRICS_ALLOWED_NETWORKS (loopback by default). Anyone else sees a 404."""

from __future__ import annotations

import ipaddress
import os
import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from apps.core.client_ip import client_ip

from .metrics import exposition_registry

DEFAULT_NETWORKS = ("127.0.0.0/8", "::1/128")


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _from_allowed_network(request):
        raise Http404  # do not reveal that the endpoint exists
    if not (_is_staff(request) or _has_metrics_token(request)):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(generate_latest(exposition_registry()), content_type=CONTENT_TYPE_LATEST)


def _from_allowed_network(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    networks = getattr(settings, "METRICS_ALLOWED_NETWORKS", DEFAULT_NETWORKS)
    return any(address in ipaddress.ip_network(network) for network in networks)


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


def _has_metrics_token(request: HttpRequest) -> bool:
    expected = getattr(settings, "METRICS_TOKEN", None) or os.environ.get("METRICS_TOKEN", "")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(presented.strip().encode(), expected.encode())
