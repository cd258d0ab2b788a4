"""`{% operator_dashboard %}` for the admin index (apps/operations/dashboard.py)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from apps.operations.dashboard import dashboard_build

register = template.Library()


@register.inclusion_tag("admin/operations/dashboard.html", takes_context=True)
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
