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
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Sum

from offerings.models import Offering
from registry.models import LotMovement, PositionSnapshot, SnapshotPosition
from registry.selectors.cap_table import (
    Accreditation,
    holders_registered_as_of,
    ledger_version,
    open_lots_at,
    position_snapshot_current,
)
from registry.selectors.ledger import AsOf, HolderKey, PositionFigures, positions_of_lots

# How long a request for a snapshot stands before a page that still waits asks again.
REQUEST_MARK_SECONDS = 120
# Snapshots kept per token for the current ledger state (the as-of dates people look at most recently).
KEEP = 8


def position_snapshot_ensure(*, offering: Offering, moment: dt.datetime) -> PositionSnapshot:
    """The snapshot of the token's positions at `moment` for the ledger as it is now, made if missing."""
    found = position_snapshot_current(offering=offering, moment=moment)
    if found is not None:
        return found
    last, count = ledger_version(offering.issuer)
    as_of = AsOf(at=moment)
    positions = positions_of_lots(open_lots_at(as_of.movements(LotMovement.objects.filter(lot__offering=offering))))
    issuer_movements = as_of.movements(LotMovement.objects.filter(lot__offering__issuer_id=offering.issuer_id))
    issuer_supply = int(issuer_movements.aggregate(t=Sum("delta"))["t"] or 0)
    registered = holders_registered_as_of(offering=offering, moment=moment)
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
                # In holder-key order, so ids break ties as the key does.
                (
                    _position(snapshot, key, p, registered)
                    for key, p in sorted(positions.items(), key=lambda item: (item[0][0] or 0, item[0][1]))
                ),
                batch_size=2000,
            )
    except IntegrityError:
        # Another request made the same one meanwhile.
        return PositionSnapshot.objects.get(offering=offering, moment=moment, ledger_last=last, ledger_count=count)
    _stale_delete(offering, snapshot)
    return snapshot


def position_snapshot_request(*, offering: Offering, moment: dt.datetime) -> None:
    """Ask a worker to make the snapshot, once while one is on its way (a page that waits asks on every
    refresh); a request lost with its worker is asked again once the mark expires."""
    from registry.tasks import position_snapshot_build_task

    last, count = ledger_version(offering.issuer)
    mark = f"position-snapshot-requested:{offering.pk}:{moment.isoformat()}:{last}:{count}"
    if cache.add(mark, 1, timeout=REQUEST_MARK_SECONDS):
        transaction.on_commit(lambda: position_snapshot_build_task.delay(offering.pk, moment.isoformat()))


def position_snapshot_build(*, offering_id: int, moment: dt.datetime) -> int:
    """The worker's part: make the snapshot (nothing when it is there already); its id."""
    offering = Offering.objects.select_related("issuer").get(pk=offering_id)
    return position_snapshot_ensure(offering=offering, moment=moment).pk


def _position(
    snapshot: PositionSnapshot, key: HolderKey, p: PositionFigures, registered: dict[int, dict[str, Any]]
) -> SnapshotPosition:
    """One holder's row: the position at the moment, with the holder as registered then (none for a wallet
    the portal does not know)."""
    person = registered.get(key[0], {}) if key[0] is not None else {}
    return SnapshotPosition(
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
        name=person.get("legal_name") or "",
        country=person.get("country") or "",
        accreditation=person.get("accreditation") or Accreditation.NONE,
    )


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
