"""Admin for assignments and reports: searchable and audited, read-only where the record is clinical
(reports change only through signing and amendment, signed versions never)."""

from django.contrib import admin

from dermrelay.cases.admin import AuditedAdmin

from .models import Assignment, Report, ReportVersion


@admin.register(Assignment)
class AssignmentAdmin(AuditedAdmin):
    audit_object_type = "assignment"
    list_display = ["case", "reader", "assigned_by", "due_at", "created_at", "claimed_at", "ended_at"]
    list_filter = ["ended_at", "claimed_at"]
    search_fields = ["case__id", "reader__username"]
    readonly_fields = ["case", "reader", "assigned_by", "created_at", "claimed_at", "ended_at", "end_reason"]
    fields = ["case", "reader", "assigned_by", "due_at", "created_at", "claimed_at", "ended_at", "end_reason"]

    def has_add_permission(self, request):
        return False  # assignments are made through the API, which checks the roles


class ReportVersionInline(admin.TabularInline):
    model = ReportVersion
    extra = 0
    fields = ["version", "kind", "signed_by", "signed_at", "content_sha256", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(AuditedAdmin):
    audit_object_type = "report"
    list_display = ["case", "status", "author", "diagnosis", "management", "current_version", "signed_at", "updated_at"]
    list_filter = ["status", "diagnosis", "management"]
    search_fields = ["case__id", "author__username"]
    readonly_fields = [f.name for f in Report._meta.fields]
    inlines = [ReportVersionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # viewing only: drafts are the reader's, signed reports are frozen
