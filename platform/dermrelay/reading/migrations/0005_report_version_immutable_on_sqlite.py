"""Signed report versions are refused UPDATE and DELETE by the database on SQLite too (as on
PostgreSQL since 0002)."""

from django.db import migrations

from dermrelay.audit.row_guard import refuse_row_changes


class Migration(migrations.Migration):
    dependencies = [("reading", "0004_assignment_as_case_read_grant"), ("audit", "0003_chain")]
    operations = [refuse_row_changes(table="reading_reportversion", trigger="reading_report_version_immutable",
                                     state="immutable", vendors=("sqlite",))]
