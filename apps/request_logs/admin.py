"""The request log in the admin: read-only, newest first, fast over millions of rows.

Every list query is "newest first within an indexed equality or a bounded time range"; the
paginator counts at most 10,000 rows (`paginator.py`); search is exact (`search.py`); sorting by
other columns is off, because ORDER BY latency over the whole table is a full sort.

The list fits a 1400 px window: it is the admin's widest page, so it leaves out the navigation
sidebar (the breadcrumbs lead home); what an operator reads first (time, request id, status,
latency, customer, request) comes first; the error code shares the status's column; batch ids in
paths and batch item request ids (`batch_…:12`) are shortened, and long names and codes are cut
with an ellipsis, each with its full value in a tooltip (`title`) and on the row's own page. `req_`
ids stay whole: operators copy them to search.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .filters import ErrorCodeFilter, ModelFilter, PeriodFilter, StatusClassFilter
from .models import RequestLog
from .paginator import CappedCountPaginator
from .search import request_log_search


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = ["time", "request", "outcome", "latency", "customer_name", "method_and_path", "model_name", "token"]
    list_display_links = ["request"]
    list_filter = [
        PeriodFilter,
        StatusClassFilter,
        ("customer", admin.RelatedFieldListFilter),
        ErrorCodeFilter,
        ModelFilter,
    ]
    list_select_related = ["customer"]
    list_per_page = 50
    search_fields = ["request_id", "token_prefix"]  # the fields searched; the lookup is ours (exact)
    search_help_text = "An exact request id (req_…) or token prefix (ipk_…)."
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facets count every filter choice over the table
    sortable_by = ()
    paginator = CappedCountPaginator

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        return request_log_search(queryset=queryset, term=search_term), False

    @admin.display(description="Time (UTC)")
    def time(self, row: RequestLog) -> SafeString:
        today = row.created_at.date() == timezone.now().date()
        return _titled(
            f"{row.created_at:%H:%M:%S}" if today else f"{row.created_at:%m-%d %H:%M}", row.created_at.isoformat()
        )

    @admin.display(description="Request id")
    def request(self, row: RequestLog) -> SafeString:
        return _titled(_shortened_id(row.request_id), row.request_id)

    @admin.display(description="Status")
    def outcome(self, row: RequestLog) -> SafeString:
        """The status, the error code that explains it, and how many requests an aggregated row stands for."""
        parts = [str(row.status), row.error_code, f"×{row.count:,}" if row.count > 1 else ""]
        return _cut(" ".join(part for part in parts if part))

    @admin.display(description="Latency")
    def latency(self, row: RequestLog) -> str:
        return f"{row.latency_ms:,.0f} ms" if row.latency_ms >= 10 else f"{row.latency_ms:.1f} ms"

    @admin.display(description="Customer")
    def customer_name(self, row: RequestLog) -> SafeString:
        return _cut(str(row.customer) if row.customer_id else "-")

    @admin.display(description="Request")
    def method_and_path(self, row: RequestLog) -> SafeString:
        return _cut(f"{row.method} {LONG_ID.sub(_shortened_match, row.path)}", title=f"{row.method} {row.path}")

    @admin.display(description="Model")
    def model_name(self, row: RequestLog) -> SafeString:
        return _cut(row.model or "-")

    @admin.display(description="Token")
    def token(self, row: RequestLog) -> str:
        return row.token_prefix or "-"


# Ids with their kind's prefix (docs/api-contract.md): `batch_` + 24 characters in a batch's paths
# and its items' request ids (`batch_…:12`). `req_` ids stay whole: operators copy them to search.
LONG_ID = re.compile(r"\b(batch_)([A-Za-z0-9_-]{6})[A-Za-z0-9_-]{3,}")


def _shortened_match(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}…"


def _shortened_id(request_id: str) -> str:
    return LONG_ID.sub(_shortened_match, request_id)


def _titled(text: str, full: str) -> SafeString:
    return format_html('<span title="{}">{}</span>', full, text) if text != full else format_html("{}", text)


def _cut(text: str, *, title: str | None = None) -> SafeString:
    """Cut to the column's width with an ellipsis (the list's stylesheet), whole in the tooltip."""
    return format_html('<span class="cut" title="{}">{}</span>', title or text, text)
