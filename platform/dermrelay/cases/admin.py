"""Admin for patient data: searchable and linked, every view and change audited, nothing deletable
(clinical records are kept; a wrongly uploaded image is removed through the API while in draft)."""

from django.contrib import admin

from dermrelay.audit.services import audit_record

from .models import Case, Image, Lesion, Patient, Upload


class AuditedAdmin(admin.ModelAdmin):
    audit_object_type = ""

    def changelist_view(self, request, extra_context=None):
        audit_record(actor=request.user, action="admin_list", object_type=self.audit_object_type)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        audit_record(actor=request.user, action="admin_view", object_type=self.audit_object_type, object_id=object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="admin_change" if change else "admin_create",
                     object_type=self.audit_object_type, object_id=obj.pk,
                     detail={"fields": form.changed_data})

    def has_delete_permission(self, request, obj=None):
        return False


class LesionInline(admin.TabularInline):
    model = Lesion
    extra = 0
    fields = ["label", "anatom_site_general", "anatom_site", "location_note"]


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    can_delete = False
    fields = ["kind", "depth_level", "depth_um", "width", "height", "frames", "bit_depth", "file_format", "status"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(AuditedAdmin):
    audit_object_type = "patient"
    list_display = ["mrn", "family_name", "given_name", "birth_date", "site", "created_at"]
    list_filter = ["site", "sex"]
    search_fields = ["mrn", "family_name", "given_name"]
    inlines = [LesionInline]


@admin.register(Lesion)
class LesionAdmin(AuditedAdmin):
    audit_object_type = "lesion"
    list_display = ["label", "patient", "anatom_site_general", "anatom_site", "created_at"]
    list_filter = ["anatom_site_general", "patient__site"]
    raw_id_fields = ["patient"]


@admin.register(Case)
class CaseAdmin(AuditedAdmin):
    audit_object_type = "case"
    list_display = ["id", "site", "visit_date", "status", "technician", "device", "submitted_at"]
    list_filter = ["status", "site", "visit_date"]
    readonly_fields = ["status", "site", "created_by", "submitted_at"]
    raw_id_fields = ["lesion", "technician"]
    date_hierarchy = "visit_date"
    inlines = [ImageInline]


@admin.register(Image)
class ImageAdmin(AuditedAdmin):
    audit_object_type = "image"
    list_display = ["id", "case", "kind", "depth_level", "width", "height", "bit_depth", "status", "replaced_by",
                    "created_at"]
    list_filter = ["kind", "status", "file_format", "case__site"]
    readonly_fields = ["case", "kind", "width", "height", "frames", "channels", "bit_depth", "file_format", "file",
                       "sha256", "size_bytes", "thumbnail", "uploaded_by", "status", "status_detail", "replaced_by",
                       "replaced_at"]
    search_fields = ["sha256"]

    def has_add_permission(self, request):
        return False


@admin.register(Upload)
class UploadAdmin(AuditedAdmin):
    """Resumable uploads in progress, finished or failed: to see, never to change (the protocol does)."""

    audit_object_type = "upload"
    list_display = ["id", "case", "created_by", "state", "offset", "length", "expires_at", "created_at"]
    list_filter = ["state"]
    readonly_fields = ["case", "created_by", "length", "offset", "metadata", "filename", "state", "image", "error",
                       "error_code", "expires_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
