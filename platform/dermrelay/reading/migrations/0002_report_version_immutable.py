"""On PostgreSQL the database itself refuses UPDATE and DELETE of signed report versions (as for
audit events). Other databases rely on the model's own refusal."""

from django.db import migrations

from dermrelay.audit.row_guard import refuse_row_changes


class Migration(migrations.Migration):
    dependencies = [("reading", "0001_initial")]
    operations = [refuse_row_changes(table="reading_reportversion", trigger="reading_report_version_immutable",
                                     state="immutable", vendors=("postgresql",))]
