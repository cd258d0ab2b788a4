from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's address. X-Forwarded-For only counts when a trusted proxy sets it."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or "unknown"


def client_ip_or_none(request: HttpRequest) -> str | None:
    """For django-axes, whose log column is an IP address: None when the address is unknown (a
    test client's `force_login` has none)."""
    address = client_ip(request)
    return None if address == "unknown" else address
