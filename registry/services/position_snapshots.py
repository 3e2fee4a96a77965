"""Positions as of a past moment, derived once per ledger state (`PositionSnapshot`).

The cap table as of a date needs every holder's open lots at that moment to sort, filter and page them;
summing every lot movement on each request costs seconds at 100,000 holders. The first request for a
moment derives the positions (the same sums the in-memory cap table makes), writes them as rows, and
every later request for that moment reads them like `HolderPosition`, in SQL. A posting, replay or
rollback changes the issuer's ledger state; the next request then derives them again and the stale
snapshots of the token go.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Sum

from offerings.models import Offering
from registry.models import LotMovement, PositionSnapshot, SnapshotPosition
from registry.selectors.cap_table import ledger_version, open_lots_at
from registry.selectors.ledger import AsOf, positions_of_lots

# Snapshots kept per token for the current ledger state (the as-of dates people look at most recently).
KEEP = 8


def position_snapshot_ensure(*, offering: Offering, moment: dt.datetime) -> PositionSnapshot:
    """The snapshot of the token's positions at `moment` for the ledger as it is now, made if missing."""
    last, count = ledger_version(offering.issuer)
    found = PositionSnapshot.objects.filter(
        offering=offering, moment=moment, ledger_last=last, ledger_count=count
    ).first()
    if found is not None:
        return found
    as_of = AsOf(at=moment)
    positions = positions_of_lots(open_lots_at(as_of.movements(LotMovement.objects.filter(lot__offering=offering))))
    issuer_movements = as_of.movements(LotMovement.objects.filter(lot__offering__issuer_id=offering.issuer_id))
    issuer_supply = int(issuer_movements.aggregate(t=Sum("delta"))["t"] or 0)
    try:
        with transaction.atomic():
            snapshot = PositionSnapshot.objects.create(
                offering=offering,
                moment=moment,
                ledger_last=last,
                ledger_count=count,
                supply=sum(p.quantity for p in positions.values()),
                issuer_supply=issuer_supply,
            )
            SnapshotPosition.objects.bulk_create(
                (
                    SnapshotPosition(
                        snapshot=snapshot,
                        investor_id=key[0],
                        wallet=key[1],
                        quantity=p.quantity,
                        wallets=",".join(p.wallets),
                        lots=p.lots,
                        first_acquired_at=p.first_acquired_at,  # type: ignore[misc]  # set for every holder with a lot
                        exemptions=",".join(p.exemptions),
                        lockup_last_release=p.lockup_last_release,
                        lockup_first_release=p.lockup_first_release,
                    )
                    # In holder-key order, so ids break ties as the key does.
                    for key, p in sorted(positions.items(), key=lambda item: (item[0][0] or 0, item[0][1]))
                ),
                batch_size=2000,
            )
    except IntegrityError:
        # Another request made the same one meanwhile.
        return PositionSnapshot.objects.get(offering=offering, moment=moment, ledger_last=last, ledger_count=count)
    _stale_delete(offering, snapshot)
    return snapshot


def _stale_delete(offering: Offering, current: PositionSnapshot) -> None:
    """Snapshots of an earlier ledger state, and all but the KEEP most recent of this one."""
    mine = PositionSnapshot.objects.filter(offering=offering)
    stale = mine.exclude(ledger_last=current.ledger_last, ledger_count=current.ledger_count)
    kept = mine.filter(ledger_last=current.ledger_last, ledger_count=current.ledger_count).order_by("-made_at", "-pk")
    old = list(stale.values_list("pk", flat=True)) + list(kept.values_list("pk", flat=True)[KEEP:])
    if old:
        with transaction.atomic():
            SnapshotPosition.objects.filter(snapshot_id__in=old).delete()
            PositionSnapshot.objects.filter(pk__in=old).delete()
