"""Database-level refusal of UPDATE / DELETE / TRUNCATE on append-only tables (SQLite and PostgreSQL):
the audit chain (core_auditevent) and the money ledger (offerings_paymententry).

Installed by migrations in every environment except the test database, where the test runner
must empty tables between tests; tests install them on their own to prove they work.
"""

from __future__ import annotations

from typing import Any

AUDIT_TABLE = "core_auditevent"
PAYMENT_ENTRY_TABLE = "offerings_paymententry"
MESSAGES = {AUDIT_TABLE: "audit events are append-only", PAYMENT_ENTRY_TABLE: "payment entries are append-only"}


def _install_statements(vendor: str, table: str) -> list[str]:
    message = MESSAGES[table]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;",
        ]
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{message}';
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only();",
            # TRUNCATE skips row triggers; a statement trigger covers it.
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only();",
        ]
    return []


def _remove_statements(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"DROP FUNCTION IF EXISTS {table}_append_only();",
        ]
    return []


def append_only_guard_install(*, connection: Any, table: str) -> None:
    with connection.cursor() as cursor:
        for statement in _install_statements(connection.vendor, table):
            cursor.execute(statement)


def append_only_guard_remove(*, connection: Any, table: str) -> None:
    with connection.cursor() as cursor:
        for statement in _remove_statements(connection.vendor, table):
            cursor.execute(statement)


def audit_guard_install(*, connection: Any) -> None:
    append_only_guard_install(connection=connection, table=AUDIT_TABLE)


def audit_guard_remove(*, connection: Any) -> None:
    append_only_guard_remove(connection=connection, table=AUDIT_TABLE)


def payment_entry_guard_install(*, connection: Any) -> None:
    append_only_guard_install(connection=connection, table=PAYMENT_ENTRY_TABLE)


def payment_entry_guard_remove(*, connection: Any) -> None:
    append_only_guard_remove(connection=connection, table=PAYMENT_ENTRY_TABLE)
