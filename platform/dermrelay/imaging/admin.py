from django.contrib import admin, messages

from dermrelay.jobs.services import job_reset, job_send

from .models import DerivationJob, DeviceProfile, Pyramid


@admin.register(DeviceProfile)
class DeviceProfileAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "source_width", "source_min_height", "source_max_height", "crop_width", "crop_height", "is_active"]
    list_filter = ["is_active"]


@admin.register(DerivationJob)
class DerivationJobAdmin(admin.ModelAdmin):
    list_display = ["image", "state", "attempts", "max_attempts", "claimed_by", "created_at", "finished_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in DerivationJob._meta.fields]
    actions = ["run_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Run again (resets attempts)")
    def run_again(self, request, queryset):
        for job in queryset:
            job_send(job_reset(job))
        messages.success(request, f"{queryset.count()} job(s) sent again.")


@admin.register(Pyramid)
class PyramidAdmin(admin.ModelAdmin):
    list_display = ["image", "width", "height", "frames", "window_low", "window_high", "device_profile", "created_at"]
    readonly_fields = [f.name for f in Pyramid._meta.fields]

    def has_add_permission(self, request):
        return False
