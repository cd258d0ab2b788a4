from django.contrib import admin
from django.http import HttpRequest

from .models import UsageRecord


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
