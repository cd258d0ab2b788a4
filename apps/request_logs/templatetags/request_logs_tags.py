"""`{% operator_dashboard %}` for the admin index, and `|thousands` (django.contrib.humanize is
not installed)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from apps.request_logs.dashboard import dashboard_build

register = template.Library()


@register.inclusion_tag("admin/request_logs/dashboard.html", takes_context=True)
def operator_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    request = context["request"]
    if not request.user.has_perm("request_logs.view_requestlog"):
        return {"visible": False}
    window = request.GET.get("window", "hour")
    return {
        "visible": True,
        "dashboard": dashboard_build(window_name=window, now=timezone.now()),
        "csp_nonce": context.get("csp_nonce"),  # an inclusion tag starts a fresh context
    }


@register.filter
def thousands(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@register.filter
def milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"
