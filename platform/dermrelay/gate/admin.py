from django.contrib import admin

from .models import MosaicQuality, QualityPolicy


@admin.register(MosaicQuality)
class MosaicQualityAdmin(admin.ModelAdmin):
    list_display = ["image", "verdict", "basis", "percent_whole", "percent_lesion", "assessed_at"]
    list_filter = ["verdict", "basis"]
    readonly_fields = [f.name for f in MosaicQuality._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(QualityPolicy)
class QualityPolicyAdmin(admin.ModelAdmin):
    list_display = ["site", "review_at_percent", "reimage_at_percent", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]
