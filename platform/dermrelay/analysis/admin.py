from django.contrib import admin

from dermrelay.jobs.services import job_enqueue, job_reset

from .models import AnalysisRun, ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "task", "modality", "is_active", "status", "status_detail", "synced_at"]
    list_filter = ["status", "is_active", "modality"]
    readonly_fields = ["name", "version", "task", "modality", "card", "weights_sha256", "status", "status_detail", "synced_at"]

    def has_add_permission(self, request):
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "step", "model_version", "state", "attempts", "percent_uninformative", "image"]
    list_filter = ["step", "state", "model_version"]
    readonly_fields = [f.name for f in AnalysisRun._meta.fields]
    actions = ["run_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Run the selected analyses again (same model version)")
    def run_again(self, request, queryset):
        for run in queryset:
            job_reset(run)
            job_enqueue(run)
        self.message_user(request, f"{queryset.count()} run(s) queued again.")
