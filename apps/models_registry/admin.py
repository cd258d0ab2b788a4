from django.contrib import admin

from .forms import ModelForm
from .models import Model


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    form = ModelForm
    list_display = ["id", "kind", "backend", "enabled", "context_length", "max_output_tokens", "created_at"]
    list_filter = ["kind", "backend", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["id", "description"]
