from django.conf import settings
from django.db import migrations

from core.db_guards import payment_entry_guard_install, payment_entry_guard_remove


def install(apps, schema_editor):
    if getattr(settings, "AUDIT_APPEND_ONLY_GUARD", True):
        payment_entry_guard_install(connection=schema_editor.connection)


def remove(apps, schema_editor):
    payment_entry_guard_remove(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("offerings", "0005_reservations_wires_batches")]

    operations = [migrations.RunPython(install, remove)]
