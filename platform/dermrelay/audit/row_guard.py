"""Database triggers that refuse UPDATE and DELETE of a table's rows, as migration operations: the
audit trail and its seals (append-only) and signed report versions (immutable) rely on them, on
PostgreSQL and on SQLite alike, so a queryset `.update()`, `.delete()` or raw SQL is refused as well
as a model's `save()`.

SQLite has no session settings, so its triggers ask a function the platform registers on each of
its connections, `dermrelay_rows_unlocked()`: false, except inside `rows_unlocked()`, which only a
whole-database flush uses (the tests' teardown). A connection without the function (the sqlite3
shell) cannot change the rows at all. On PostgreSQL a separate owner role keeps the application's
role from TRUNCATE or from dropping the triggers (`manage.py db_app_role`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.db import migrations

# Every table a migration guards with refuse_row_changes: the application's database role may
# insert into them and read them, never change, delete or truncate them (manage.py db_app_role).
GUARDED_TABLES = ("audit_auditevent", "audit_auditseal", "reading_reportversion")

_unlocked: contextvars.ContextVar[bool] = contextvars.ContextVar("rows_unlocked", default=False)
SQLITE_FUNCTION = "dermrelay_rows_unlocked"


@contextlib.contextmanager
def rows_unlocked() -> Iterator[None]:
    """Let this thread's SQLite statements change guarded rows (flushing a whole test database)."""
    token = _unlocked.set(True)
    try:
        yield
    finally:
        _unlocked.reset(token)


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """connection_created: give every SQLite connection the function its triggers ask."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, lambda: int(_unlocked.get()), deterministic=False)


def _postgresql_sql(table: str, trigger: str, state: str) -> tuple[str, str]:
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
    return create, drop


def _sqlite_sql(table: str, trigger: str, state: str) -> tuple[list[str], list[str]]:
    create = [
        f"CREATE TRIGGER {trigger}_{operation.lower()} BEFORE {operation} ON {table} "
        f"WHEN NOT {SQLITE_FUNCTION}() BEGIN SELECT RAISE(ABORT, '{table} is {state}: {operation} refused'); END"
        for operation in ("UPDATE", "DELETE")]
    drop = [f"DROP TRIGGER IF EXISTS {trigger}_{operation}" for operation in ("update", "delete")]
    return create, drop


def _run(table: str, trigger: str, state: str, vendors: tuple[str, ...], *, install: bool):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in vendors:
            return
        if vendor == "postgresql":
            create, drop = _postgresql_sql(table, trigger, state)
            schema_editor.execute(create if install else drop, params=None)  # the SQL holds a literal %
        elif vendor == "sqlite":
            create, drop = _sqlite_sql(table, trigger, state)
            for statement in create if install else drop:
                schema_editor.execute(statement, params=None)

    return run


def refuse_row_changes(*, table: str, trigger: str, state: str,
                       vendors: tuple[str, ...] = ("postgresql", "sqlite")) -> migrations.RunPython:
    """The operation that installs (and, reversed, removes) the trigger `trigger` on `table`; a
    refused statement raises '<table> is <state>: UPDATE refused' (or DELETE). `vendors`: the
    databases to install it on (migrations written before SQLite had triggers name PostgreSQL only)."""
    return migrations.RunPython(_run(table, trigger, state, vendors, install=True),
                                _run(table, trigger, state, vendors, install=False))
