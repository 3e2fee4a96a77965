from django.conf import settings
from django.db import migrations

from core.db_guards import audit_guard_install, audit_guard_remove


def install(apps, schema_editor):
    if getattr(settings, "AUDIT_APPEND_ONLY_GUARD", True):
        audit_guard_install(connection=schema_editor.connection)


def remove(apps, schema_editor):
    audit_guard_remove(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
