"""The request log in the admin: read-only, newest first, fast over millions of rows.

Every list query is "newest first within an indexed equality or a bounded time range"; the
paginator counts at most 10,000 rows (`paginator.py`); search is exact (`search.py`); sorting by
other columns is off, because ORDER BY latency over the whole table is a full sort.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

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
    list_display = [
        "created_at",
        "request_id",
        "method",
        "path",
        "status",
        "error_code",
        "latency_ms",
        "customer",
        "token_prefix",
        "model",
        "count",
    ]
    list_display_links = ["request_id"]
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

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        return request_log_search(queryset=queryset, term=search_term), False
