"""The row locks a redemption transaction takes first (core.audit's lock order: the offering, then other rows,
the audit chain head last).

PostgreSQL checks a row's reference to the offering when the transaction commits, after the audit chain head
was taken, whenever the transaction inserted the row or wrote the same row twice (a dealing day cut off and
priced in one run). A run that locks the offering for update and then writes its own event (the ledger's sync,
every few seconds) would then hold what that commit waits for while it waits on the head the commit holds: a
deadlock, and PostgreSQL kills one of them. Taken first, the offering's key share waits for such a run before
anything else is locked; transactions of the same token share it without waiting on each other.
"""

from __future__ import annotations

from django.db import connection

from offerings.models import Offering
from redemptions.models import DealingDay


def offering_key_share(offering_id: int) -> None:
    """The offering's row under a key-share lock (PostgreSQL; SQLite takes one write lock for the database)."""
    if connection.vendor != "postgresql":
        return
    table = Offering._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", [offering_id])  # noqa: S608


def dealing_day_locked(day_id: int) -> DealingDay:
    """The dealing day locked for update, after its offering's key share."""
    offering_id = DealingDay.objects.values_list("offering_id", flat=True).get(pk=day_id)
    offering_key_share(offering_id)
    return DealingDay.objects.select_for_update(of=("self",)).select_related("offering__issuer").get(pk=day_id)
