"""A PostgreSQL trigger that refuses UPDATE and DELETE of a table's rows, as migration operations:
the audit trail (append-only) and signed report versions (immutable) both rely on it. Other
databases rely on the models' own refusal."""

from __future__ import annotations

from django.db import migrations


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL holds a literal %

    return run


def refuse_row_changes(*, table: str, trigger: str, state: str) -> migrations.RunPython:
    """The operation that installs (and, reversed, removes) the trigger `trigger` on `table`; a
    refused statement raises '<table> is <state>: UPDATE refused' (or DELETE)."""
    create = f"""
CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is {state}: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {trigger}
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {trigger}();
"""
    drop = f"""
DROP TRIGGER IF EXISTS {trigger} ON {table};
DROP FUNCTION IF EXISTS {trigger}();
"""
    return migrations.RunPython(_on_postgresql(create), _on_postgresql(drop))
