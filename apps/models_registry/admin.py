from django.contrib import admin

from .models import Model


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "backend", "enabled", "context_length", "created_at"]
    list_filter = ["kind", "backend", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["id", "description"]
