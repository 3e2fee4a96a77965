"""Registers posted before holder positions existed (0006) get their positions, each posting's holder
change and the day totals derived from the ledger here, so upgrading needs no `positions_rebuild` by hand."""

from django.db import migrations


def positions_backfill(apps, schema_editor):
    # The rebuild the service runs, on this migration's historical models.
    from registry.services.positions import LedgerModels, positions_rebuild_of

    models = LedgerModels(
        apps.get_model("offerings", "Offering"),
        apps.get_model("registry", "HolderPosition"),
        apps.get_model("registry", "LedgerPosting"),
        apps.get_model("registry", "Lot"),
        apps.get_model("registry", "LotMovement"),
        apps.get_model("registry", "RegisterDay"),
    )
    # Only registers with lots and no positions: one kept by the posting service is already right.
    with_lots = models.Lot.objects.values("offering_id")
    with_positions = models.HolderPosition.objects.values("offering_id")
    pending = (
        models.Offering.objects.filter(pk__in=with_lots)
        .exclude(pk__in=with_positions)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for offering_id in list(pending):
        positions_rebuild_of(offering_id=offering_id, models=models)


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_position_snapshots")]

    operations = [migrations.RunPython(positions_backfill, migrations.RunPython.noop, elidable=True)]
