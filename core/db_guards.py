"""Database-level refusal of UPDATE / DELETE / TRUNCATE on the audit chain (SQLite and PostgreSQL).

Installed by a migration in every environment except the test database, where the test runner
must empty tables between tests; a test installs it on its own to prove it works.
"""

from __future__ import annotations

from typing import Any

STATEMENTS: dict[str, list[str]] = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
        "CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;",
    ],
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only';
        END;
        $$ LANGUAGE plpgsql;
        """,
        "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;",
        "CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();",
        # TRUNCATE skips row triggers; a statement trigger covers it.
        "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;",
        "CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent "
        "FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_append_only();",
    ],
}

REMOVE: dict[str, list[str]] = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS core_auditevent_no_update;",
        "DROP TRIGGER IF EXISTS core_auditevent_no_delete;",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent;",
        "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;",
        "DROP FUNCTION IF EXISTS core_auditevent_append_only();",
    ],
}


def audit_guard_install(*, connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in STATEMENTS.get(connection.vendor, []):
            cursor.execute(statement)


def audit_guard_remove(*, connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in REMOVE.get(connection.vendor, []):
            cursor.execute(statement)
