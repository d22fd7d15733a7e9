from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "dermrelay.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from .row_guard import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="dermrelay-rows-unlocked")
