from django.contrib import admin
from django.http import HttpRequest

from .models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "customer", "state", "response_status", "claimed_at", "expires_at", "request_id"]
    list_filter = ["state"]
    search_fields = ["=key", "=request_id"]
    exclude = ["response_body"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
