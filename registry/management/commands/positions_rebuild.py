from django.core.management.base import BaseCommand

from offerings.models import Offering
from registry.services.positions import positions_rebuild


class Command(BaseCommand):
    help = (
        "Derive the cap table's current positions and day totals from the holdings ledger again "
        "(after loading ledger rows in bulk, or to check nothing drifted)."
    )

    def handle(self, *args: object, **options: object) -> None:
        for offering in Offering.objects.filter(ledger_postings__isnull=False).distinct().order_by("pk"):
            holders = positions_rebuild(offering=offering)
            self.stdout.write(f"{offering}: {holders} holders")
