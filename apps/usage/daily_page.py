"""The admin page for daily usage: a table per UTC day, customer and model, or the same as CSV."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import Customer

from .totals import UsageRow, usage_totals

DAY_CHOICES = (1, 7, 30, 90)
DEFAULT_DAYS = 7


def daily_usage_view(request: HttpRequest, *, context: dict[str, Any], opts: Any) -> HttpResponse:
    days = _int_param(request, "days", DEFAULT_DAYS, allowed=DAY_CHOICES)
    customer_id = _int_param(request, "customer", None)
    last_day = timezone.now().date()
    rows = usage_totals(first_day=last_day - timedelta(days=days - 1), last_day=last_day, customer_id=customer_id)
    if request.GET.get("format") == "csv":
        return _csv(rows)
    return TemplateResponse(
        request,
        "admin/usage/dailyusage/change_list.html",
        {
            **context,
            "opts": opts,
            "title": "Usage per customer, day and model",
            "rows": [(row, _log_url(row)) for row in rows],
            "days": days,
            "day_choices": DAY_CHOICES,
            "customer_id": customer_id,
            "customers": Customer.objects.order_by("name").values_list("pk", "name"),
            "totals": _totals(rows),
        },
    )


def _int_param(request: HttpRequest, name: str, default: int | None, allowed: tuple[int, ...] = ()) -> Any:
    try:
        value = int(request.GET.get(name, ""))
    except ValueError:
        return default
    return value if not allowed or value in allowed else default


def _log_url(row: UsageRow) -> str:
    """The request log filtered to this row's customer, model and day."""
    start = datetime.combine(row.day, time.min, tzinfo=UTC)
    query = {
        "customer__id__exact": row.customer_id,
        "model": row.model,
        "created_at__gte": start.isoformat(),
        "created_at__lt": (start + timedelta(days=1)).isoformat(),
    }
    return f"{reverse('admin:request_logs_requestlog_changelist')}?{urlencode(query)}"


def _totals(rows: list[UsageRow]) -> dict[str, int]:
    return {
        "requests": sum(row.requests for row in rows),
        "prompt_tokens": sum(row.prompt_tokens for row in rows),
        "completion_tokens": sum(row.completion_tokens for row in rows),
        "total_tokens": sum(row.total_tokens for row in rows),
    }


def _csv(rows: list[UsageRow]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="usage.csv"'
    writer = csv.writer(response)
    writer.writerow(["day", "customer_id", "customer", "model", "requests", "prompt_tokens", "completion_tokens"])
    for row in rows:
        writer.writerow(
            [row.day, row.customer_id, _cell(row.customer_name), _cell(row.model), row.requests]
            + [row.prompt_tokens, row.completion_tokens]
        )
    return response


def _cell(text: str) -> str:
    # A name starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return f"'{text}" if text[:1] in {"=", "+", "-", "@"} else text
