from django.contrib import admin

from .models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "task", "modality", "is_active", "status", "status_detail", "synced_at"]
    list_filter = ["status", "is_active", "modality"]
    readonly_fields = ["name", "version", "task", "modality", "card", "weights_sha256", "status", "status_detail", "synced_at"]

    def has_add_permission(self, request):
        return False
