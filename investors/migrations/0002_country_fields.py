"""The investors' country columns become django-countries fields.

The columns already hold ISO 3166-1 alpha-2 codes in a varchar(2), which is what CountryField stores:
only the field class changes, so the database is left as it is and no row is rewritten.
"""

import django_countries.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("investors", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="beneficialowner",
                    name="citizenship",
                    field=django_countries.fields.CountryField(max_length=2),
                ),
                migrations.AlterField(
                    model_name="beneficialowner",
                    name="country",
                    field=django_countries.fields.CountryField(max_length=2),
                ),
                migrations.AlterField(
                    model_name="investordocument",
                    name="issuing_country",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
                migrations.AlterField(
                    model_name="investorprofile",
                    name="citizenship",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
                migrations.AlterField(
                    model_name="investorprofile",
                    name="country",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
                migrations.AlterField(
                    model_name="investorprofile",
                    name="formation_country",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
                migrations.AlterField(
                    model_name="investorprofile",
                    name="tax_id_country",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
                migrations.AlterField(
                    model_name="taxform",
                    name="treaty_country",
                    field=django_countries.fields.CountryField(blank=True, max_length=2),
                ),
            ],
        ),
    ]
