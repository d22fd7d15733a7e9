"""On PostgreSQL the database itself refuses UPDATE and DELETE of signed report versions (as for
audit events). Other databases rely on the model's own refusal."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION reading_report_version_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'reading_reportversion is immutable: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reading_report_version_immutable
    BEFORE UPDATE OR DELETE ON reading_reportversion
    FOR EACH ROW EXECUTE FUNCTION reading_report_version_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS reading_report_version_immutable ON reading_reportversion;
DROP FUNCTION IF EXISTS reading_report_version_immutable();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL holds a literal %

    return run


class Migration(migrations.Migration):
    dependencies = [("reading", "0001_initial")]
    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
