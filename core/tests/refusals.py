"""A database that refuses one kind of audit event: proves a change and its event share a transaction.

While `audit_refused(action)` is active, inserting an AuditEvent with that action fails inside the
database; a service that writes the event in the transaction of its change then leaves nothing
behind, and one that writes it separately leaves the change without its event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def audit_refused(action: str) -> Iterator[None]:
    quoted = action.replace("'", "''")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TEMP TRIGGER test_audit_refused BEFORE INSERT ON core_auditevent "
                f"WHEN NEW.action = '{quoted}' BEGIN SELECT RAISE(ABORT, 'audit event refused'); END;"
            )
        else:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION test_audit_refused() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit event refused'; END; $$ LANGUAGE plpgsql;"
            )
            cursor.execute(
                "CREATE TRIGGER test_audit_refused BEFORE INSERT ON core_auditevent FOR EACH ROW "
                f"WHEN (NEW.action = '{quoted}') EXECUTE FUNCTION test_audit_refused();"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("DROP TRIGGER IF EXISTS test_audit_refused;")
            else:
                cursor.execute("DROP TRIGGER IF EXISTS test_audit_refused ON core_auditevent;")
                cursor.execute("DROP FUNCTION IF EXISTS test_audit_refused();")
