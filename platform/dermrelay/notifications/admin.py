from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "site", "read_at"]
    list_filter = ["kind", "site"]
    readonly_fields = [f.name for f in Notification._meta.fields]
