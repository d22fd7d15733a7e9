"""On PostgreSQL the database itself refuses UPDATE and DELETE of audit events.

TRUNCATE is left to the owner of the database (test teardown uses it); ordinary application
connections never issue it. Other databases rely on the model's own refusal.
"""

from django.db import migrations

from dermrelay.audit.row_guard import refuse_row_changes


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [refuse_row_changes(table="audit_auditevent", trigger="audit_event_append_only", state="append-only",
                                     vendors=("postgresql",))]
