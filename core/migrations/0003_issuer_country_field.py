"""The issuer's country becomes a django-countries field.

The column already holds ISO 3166-1 alpha-2 codes in a varchar(2), which is what CountryField stores:
only the field class changes, so the database is left as it is and no row is rewritten.
"""

import django_countries.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_audit_append_only"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="issuer",
                    name="country",
                    field=django_countries.fields.CountryField(
                        help_text="ISO 3166-1 alpha-2 of the principal place of business.", max_length=2
                    ),
                ),
            ],
        ),
    ]
