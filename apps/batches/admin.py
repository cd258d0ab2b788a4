from django.contrib import admin
from django.http import HttpRequest

from .models import BatchItem, BatchJob


class ReadOnly(admin.ModelAdmin):
    """Batches change only through the API and the workers, whose transitions keep counts exact."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BatchJob)
class BatchJobAdmin(ReadOnly):
    list_display = ["public_id", "customer", "status", "total_count", "completed_count", "failed_count", "created_at"]
    list_filter = ["status"]
    search_fields = ["=public_id"]
    list_select_related = ["customer"]


@admin.register(BatchItem)
class BatchItemAdmin(ReadOnly):
    list_display = ["batch", "index", "custom_id", "endpoint", "status", "attempts", "finished_at"]
    list_filter = ["status", "endpoint"]
    search_fields = ["=batch__public_id", "=custom_id"]
    list_select_related = ["batch"]
