"""The database refuses an UPDATE of what a NAV point says: a NAV is never edited, only superseded by a
correction for the same day. Its lifecycle columns (state, approval, supersession) may change."""

from django.db import migrations

CONTENT_COLUMNS = [
    "offering_id",
    "dealing_day",
    "currency",
    "scale",
    "nav_per_unit",
    "source",
    "document",
    "document_sha256",
    "document_name",
    "document_size",
    "entered_by_id",
    "entered_at",
    "public_id",
]
MESSAGE = "NAV points are never edited"


def _statements(vendor: str) -> list[str]:
    columns = ", ".join(CONTENT_COLUMNS)
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS backing_navpoint_never_edited BEFORE UPDATE OF {columns} "
            f"ON backing_navpoint BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
        ]
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION backing_navpoint_never_edited() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"CREATE TRIGGER backing_navpoint_never_edited BEFORE UPDATE OF {columns} "
            "ON backing_navpoint FOR EACH ROW EXECUTE FUNCTION backing_navpoint_never_edited();",
        ]
    return []


def _reverse(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return ["DROP TRIGGER IF EXISTS backing_navpoint_never_edited;"]
    if vendor == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS backing_navpoint_never_edited ON backing_navpoint;",
            "DROP FUNCTION IF EXISTS backing_navpoint_never_edited();",
        ]
    return []


def install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in _statements(schema_editor.connection.vendor):
            cursor.execute(statement)


def remove(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in _reverse(schema_editor.connection.vendor):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("backing", "0003_nav")]

    operations = [migrations.RunPython(install, remove)]
