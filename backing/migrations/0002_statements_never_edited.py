"""The database refuses an UPDATE of what a reserve statement says (and of any of its lines): a statement is
never edited, only superseded. Its lifecycle columns (state, approval, supersession) may change."""

from django.db import migrations

CONTENT_COLUMNS = [
    "offering_id",
    "as_of",
    "period_start",
    "period_end",
    "unit_code",
    "unit_scale",
    "total_amount",
    "attestor_name",
    "attestor_kind",
    "document",
    "document_sha256",
    "document_name",
    "document_size",
    "source",
    "entered_by_id",
    "entered_at",
    "public_id",
]
MESSAGE = "reserve statements are never edited"


def _statements(vendor: str) -> list[str]:
    columns = ", ".join(CONTENT_COLUMNS)
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS backing_reservestatement_never_edited BEFORE UPDATE OF {columns} "
            f"ON backing_reservestatement BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
            "CREATE TRIGGER IF NOT EXISTS backing_reserveline_never_edited BEFORE UPDATE ON backing_reserveline "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
        ]
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION backing_reservestatement_never_edited() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"CREATE TRIGGER backing_reservestatement_never_edited BEFORE UPDATE OF {columns} "
            "ON backing_reservestatement FOR EACH ROW EXECUTE FUNCTION backing_reservestatement_never_edited();",
            "CREATE TRIGGER backing_reserveline_never_edited BEFORE UPDATE ON backing_reserveline "
            "FOR EACH ROW EXECUTE FUNCTION backing_reservestatement_never_edited();",
        ]
    return []


def _reverse(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [
            "DROP TRIGGER IF EXISTS backing_reservestatement_never_edited;",
            "DROP TRIGGER IF EXISTS backing_reserveline_never_edited;",
        ]
    if vendor == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS backing_reserveline_never_edited ON backing_reserveline;",
            "DROP TRIGGER IF EXISTS backing_reservestatement_never_edited ON backing_reservestatement;",
            "DROP FUNCTION IF EXISTS backing_reservestatement_never_edited();",
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
    dependencies = [("backing", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
