from django.db import migrations, models
from django.db.models import Exists, OuterRef


def lines_with_bank_details(apps, schema_editor):
    """Lines of bank-file distributions whose holder has bank details on file now say so."""
    DistributionLine = apps.get_model("distributions", "DistributionLine")
    BankAccount = apps.get_model("investors", "BankAccount")
    on_file = BankAccount.objects.filter(investor_id=OuterRef("investor_id"), superseded_at__isnull=True)
    DistributionLine.objects.filter(distribution__payment_method="bank_file", destination_status="bank_missing").filter(
        Exists(on_file)
    ).update(destination_status="bank_account")


class Migration(migrations.Migration):
    dependencies = [
        ("distributions", "0005_reinvestment_mints"),
    ]

    operations = [
        migrations.AlterField(
            model_name="distributionline",
            name="destination_status",
            field=models.CharField(
                choices=[
                    ("wallet", "Wallet on file"),
                    ("no_wallet", "No active wallet on file"),
                    ("bank_account", "Bank account on file"),
                    ("bank_missing", "No bank details on file"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(lines_with_bank_details, migrations.RunPython.noop),
    ]
