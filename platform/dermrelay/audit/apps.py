from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dermrelay.audit"
    label = "audit"
    verbose_name = "Audit trail"
