from django.contrib import admin
from django.http import HttpRequest

from .models import RequestLog


@admin.register(RequestLog)
class RequestLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "request_id", "method", "path", "status", "error_code", "latency_ms", "token_prefix"]
    list_filter = ["status", "error_code", "model"]
    search_fields = ["=request_id", "=token_prefix"]
    show_full_result_count = False  # no COUNT(*) over millions of rows
    list_select_related = ["customer"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
