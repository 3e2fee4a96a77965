"""Lines carry their payment: a number the payout contract guards, the cash part, and its state."""

from django.db import migrations, models


def lines_number(apps, schema_editor):
    """Existing lines take numbers in investor order and pay their whole net in cash."""
    DistributionLine = apps.get_model("distributions", "DistributionLine")
    distribution_ids = DistributionLine.objects.values_list("distribution_id", flat=True).distinct()
    for distribution_id in distribution_ids:
        lines = list(DistributionLine.objects.filter(distribution_id=distribution_id).order_by("investor_id"))
        for n, line in enumerate(lines):
            line.line_index = n
            line.cash_minor = line.net_minor
        DistributionLine.objects.bulk_update(lines, ["line_index", "cash_minor"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("distributions", "0001_initial"),
        ("investors", "0004_holder_record_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="distributionline",
            name="cash_minor",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="line_index",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(lines_number, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="distributionline",
            name="cash_minor",
            field=models.BigIntegerField(),
        ),
        migrations.AlterField(
            model_name="distributionline",
            name="line_index",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="failure_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="paid_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="payment_reference",
            field=models.CharField(blank=True, max_length=140),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="payment_state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("held", "Held: no valid wallet or bank details"),
                    ("sending", "Sending"),
                    ("paid", "Paid"),
                    ("reinvested", "Reinvested"),
                    ("failed", "Failed"),
                    ("returned", "Returned by the bank"),
                ],
                db_index=True,
                default="pending",
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="distributionline",
            name="reinvest_units",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="distributionline",
            constraint=models.UniqueConstraint(fields=("distribution", "line_index"), name="one_line_per_index"),
        ),
        migrations.AddConstraint(
            model_name="distributionline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cash_minor__gte", 0), ("cash_minor__lte", models.F("net_minor")), ("reinvest_units__gte", 0)
                ),
                name="line_cash_within_net",
            ),
        ),
    ]
