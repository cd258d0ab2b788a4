from django.contrib import admin
from django.utils.safestring import SafeString

from .forms import ModelForm
from .models import Model
from .replica_status import replica_summary, replica_table


@admin.register(Model)
class ModelAdmin(admin.ModelAdmin):
    form = ModelForm
    list_display = ["id", "kind", "backend", "enabled", "context_length", "max_output_tokens", "replicas", "created_at"]
    list_filter = ["kind", "backend", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["id", "description"]
    readonly_fields = ["replica_states"]

    @admin.display(description="Replicas")
    def replicas(self, model: Model) -> str:
        return replica_summary(model)

    @admin.display(description="Replica states")
    def replica_states(self, model: Model) -> SafeString | str:
        return replica_table(model)
