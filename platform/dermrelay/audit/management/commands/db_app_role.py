"""`manage.py db_app_role`: the PostgreSQL role the web tier and workers connect as, apart from the
role that owns the tables and runs the migrations. It may read and write the platform's rows but
not own a table: it cannot TRUNCATE the audit trail, drop or disable its triggers, or change,
delete or truncate a guarded table's rows (GRANTs revoked on top of the triggers). Idempotent: the
compose file's migrate job runs it after every `migrate`, so tables added later are granted too."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from dermrelay.audit.row_guard import GUARDED_TABLES


class Command(BaseCommand):
    help = "Create or update the application's PostgreSQL role (run as the tables' owner, after migrate)."

    def add_arguments(self, parser):
        parser.add_argument("--role", default=os.environ.get("DERMRELAY_APP_DB_ROLE", "dermrelay_app"))
        parser.add_argument("--password", default=os.environ.get("DERMRELAY_APP_DB_PASSWORD", ""),
                            help="the role's login password (default: $DERMRELAY_APP_DB_PASSWORD; none: no login)")

    def handle(self, *args, role: str, password: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("db_app_role is for PostgreSQL; the embedded SQLite database has no roles.")
        name = sql.Identifier(role)
        statements = []
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            exists = cursor.fetchone() is not None
        login = sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("NOLOGIN")
        statements.append(sql.SQL("{} ROLE {} {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
            sql.SQL("ALTER" if exists else "CREATE"), name, login))
        statements += [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(connection.settings_dict["NAME"]), name),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(name),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.SQL(", ").join(sql.Identifier(table) for table in GUARDED_TABLES), name),
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"role {role}: {'updated' if exists else 'created'}; "
                          f"guarded tables ({', '.join(GUARDED_TABLES)}): insert and read only")
