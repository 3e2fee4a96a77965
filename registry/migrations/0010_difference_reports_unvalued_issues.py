from django.db import migrations, models


def unvalued_marked(apps, schema_editor):
    """Lines built before: one without a threshold was never compared; its report needs a person to value it."""
    Issue = apps.get_model("registry", "RecordDifferenceReportIssue")
    Report = apps.get_model("registry", "RecordDifferenceReport")
    Issue.objects.filter(issuer_threshold_minor__isnull=True).update(valued=False)
    unvalued = Issue.objects.filter(valued=False, aged_units__gt=0).values("report_id")
    Report.objects.filter(pk__in=unvalued).update(needs_valuation=True)


class Migration(migrations.Migration):
    dependencies = [("registry", "0009_holder_positions_backfill")]

    operations = [
        migrations.AddField(
            model_name="recorddifferencereport",
            name="needs_valuation",
            field=models.BooleanField(
                default=False,
                help_text="An issue with aged differences could not be compared with the thresholds (not priced in USD).",
            ),
        ),
        migrations.AddField(
            model_name="recorddifferencereportissue",
            name="valued",
            field=models.BooleanField(
                default=True, help_text="Compared with a threshold table; false when none exists for its currency."
            ),
        ),
        migrations.RunPython(unvalued_marked, migrations.RunPython.noop, elidable=True),
    ]
