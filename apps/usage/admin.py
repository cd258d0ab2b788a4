"""Usage in the admin, in one section: the charges one by one, and totals per day."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .daily_page import daily_usage_view
from .models import DailyUsage, UsageRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ["created_at", "customer", "model", "endpoint", "prompt_tokens", "completion_tokens", "request_id"]
    list_filter = ["model", "endpoint"]
    search_fields = ["=request_id"]
    list_select_related = ["customer"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    """Tokens per customer, UTC day and model; the page is `daily_page.daily_usage_view`."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return daily_usage_view(request, context=self.admin_site.each_context(request), opts=self.opts)
