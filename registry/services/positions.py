"""Current positions and the register's day totals, kept in step with the ledger.

`HolderPosition` holds, per token and holder (an investor across their wallets, or a wallet the portal
does not know), the sum of the holder's open lots. The posting service updates it in the transaction
that posts the events (`PositionTracker`), and deleted postings put it right through `postings_removed`
(a replay deletes postings in `ledger_sync`; an indexer rollback deletes their events, and the postings
go by CASCADE, which reaches the registry only as Django's delete signals, since tokens may not call it).

Each posting also records how many holders of record it added or removed (`holders_delta`); the day
totals in `RegisterDay` sum those and the supply change, for the holders-and-supply-over-time chart.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import F, Q, Sum

from offerings.models import Offering
from registry.models import HolderPosition, LedgerPosting, Lot, LotMovement, PostingKind, RegisterDay
from registry.selectors.ledger import HolderKey, OpenLot, holder_key, positions_of_lots

# Keeps every IN (...) list well under SQLite's limit on bound parameters.
CHUNK = 500


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def supply_change(posting: LedgerPosting) -> int:
    if posting.kind == PostingKind.MINT:
        return posting.quantity
    if posting.kind == PostingKind.BURN:
        return -posting.quantity
    return 0


def _chunks(keys: Iterable[HolderKey]) -> Iterable[Q]:
    """Filters matching the holders, a few hundred at a time."""
    ordered = sorted(keys, key=lambda k: (k[0] or 0, k[1]))
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start : start + CHUNK]
        investors = [i for i, _ in part if i is not None]
        wallets = [w for i, w in part if i is None]
        condition = Q(pk__in=[])
        if investors:
            condition |= Q(investor_id__in=investors)
        if wallets:
            condition |= Q(investor__isnull=True, wallet__in=wallets)
        yield condition


class LedgerModels(NamedTuple):
    """The models a rebuild reads and writes: the app's own, or a migration's historical ones."""

    Offering: Any
    HolderPosition: Any
    LedgerPosting: Any
    Lot: Any
    LotMovement: Any
    RegisterDay: Any


LEDGER_MODELS = LedgerModels(Offering, HolderPosition, LedgerPosting, Lot, LotMovement, RegisterDay)


def _open_lots(offering_id: int, condition: Q | None = None, models: LedgerModels = LEDGER_MODELS) -> Iterable[OpenLot]:
    rows = models.Lot.objects.filter(offering_id=offering_id)
    if condition is not None:
        rows = rows.filter(condition)
    values = (
        rows.annotate(remaining=Sum("movements__delta"))
        .filter(remaining__gt=0)
        .values_list("investor_id", "wallet", "remaining", "acquired_at", "exemption", "lockup_release")
        .order_by()
    )
    for investor_id, wallet, remaining, acquired_at, exemption, release in values.iterator(chunk_size=5000):
        yield OpenLot(investor_id, wallet, int(remaining), acquired_at, exemption, release)


def _position_rows(offering_id: int, lots: Iterable[OpenLot], models: LedgerModels = LEDGER_MODELS) -> list[Any]:
    return [
        models.HolderPosition(
            offering_id=offering_id,
            investor_id=key[0],
            wallet=key[1],
            quantity=p.quantity,
            wallets=",".join(p.wallets),
            lots=p.lots,
            first_acquired_at=p.first_acquired_at,
            exemptions=",".join(p.exemptions),
            lockup_last_release=p.lockup_last_release,
            lockup_first_release=p.lockup_first_release,
        )
        for key, p in positions_of_lots(lots).items()
    ]


def positions_refresh(*, offering_id: int, keys: Iterable[HolderKey]) -> None:
    """Recompute these holders' positions from their open lots (a holder with none has no position)."""
    for condition in _chunks(set(keys)):
        HolderPosition.objects.filter(offering_id=offering_id).filter(condition).delete()
        HolderPosition.objects.bulk_create(_position_rows(offering_id, _open_lots(offering_id, condition)))


@transaction.atomic
def positions_rebuild(*, offering: Offering) -> int:
    """Derive every position, each posting's holder change and the day totals from the ledger again.

    For rows written in bulk without the posting service (benchmarks, a repair); returns the holders."""
    return positions_rebuild_of(offering_id=offering.pk, models=LEDGER_MODELS)


def positions_rebuild_of(*, offering_id: int, models: LedgerModels) -> int:
    """`positions_rebuild` on the given models, so a data migration can run it on its historical ones
    (registry 0009 backfills the positions of a register posted before they existed)."""
    models.Offering.objects.select_for_update().only("pk").get(pk=offering_id)
    models.HolderPosition.objects.filter(offering_id=offering_id).delete()
    rows = _position_rows(offering_id, _open_lots(offering_id, models=models), models)
    models.HolderPosition.objects.bulk_create(rows, batch_size=2000)

    balances: dict[HolderKey, int] = defaultdict(int)
    changed: dict[int, int] = {}
    days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    moves = (
        models.LotMovement.objects.filter(lot__offering_id=offering_id)
        .values_list("posting_id", "lot__investor_id", "lot__wallet", "delta")
        .order_by("block_number", "posting__log_index", "id")
    )
    postings = {
        p.pk: p
        for p in models.LedgerPosting.objects.filter(offering_id=offering_id).only(
            "pk", "kind", "quantity", "chain_time", "holders_delta"
        )
    }
    current: int | None = None
    before: dict[HolderKey, int] = {}
    seen: set[int] = set()

    def close(posting_id: int | None) -> None:
        if posting_id is None:
            return
        delta = sum((balances[k] > 0) - (b > 0) for k, b in before.items())
        if delta != postings[posting_id].holders_delta:
            changed[posting_id] = delta
        days[_day(postings[posting_id].chain_time)][0] += delta

    for posting_id, investor_id, wallet, delta in moves.iterator(chunk_size=5000):
        if posting_id != current:
            close(current)
            current, before = posting_id, {}
            seen.add(posting_id)
        key = holder_key(investor_id, wallet)
        before.setdefault(key, balances[key])
        balances[key] += delta
    close(current)
    for posting in postings.values():
        days[_day(posting.chain_time)][1] += supply_change(posting)
        if posting.pk not in seen and posting.holders_delta:
            changed[posting.pk] = 0  # moved nothing, so it changed no holder
        if posting.pk in changed:
            posting.holders_delta = changed[posting.pk]
    models.LedgerPosting.objects.bulk_update([postings[pk] for pk in changed], ["holders_delta"], batch_size=1000)
    models.RegisterDay.objects.filter(offering_id=offering_id).delete()
    models.RegisterDay.objects.bulk_create(
        [
            models.RegisterDay(offering_id=offering_id, day=day, holders_delta=h, supply_delta=s)
            for day, (h, s) in sorted(days.items())
            if h or s
        ]
    )
    return len(rows)


def _register_days_add(offering_id: int, days: dict[dt.date, list[int]]) -> None:
    for day, (holders, supply) in sorted(days.items()):
        if not holders and not supply:
            continue
        updated = RegisterDay.objects.filter(offering_id=offering_id, day=day).update(
            holders_delta=F("holders_delta") + holders, supply_delta=F("supply_delta") + supply
        )
        if not updated:
            RegisterDay.objects.create(offering_id=offering_id, day=day, holders_delta=holders, supply_delta=supply)


class PositionTracker:
    """Holder balances while one sync posts events in chain order, to tell which postings add or remove a
    holder; `finish()` writes the holder changes, the day totals and the touched positions."""

    def __init__(self, *, offering: Offering, expected: Iterable[HolderKey]) -> None:
        self.offering_id = offering.pk
        self.balances: dict[HolderKey, int] = {}
        self.touched: set[HolderKey] = set()
        self.days: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
        self.changed: list[LedgerPosting] = []
        self._load(set(expected))

    def _load(self, keys: set[HolderKey]) -> None:
        for condition in _chunks(keys):
            rows = HolderPosition.objects.filter(offering_id=self.offering_id).filter(condition)
            for investor_id, wallet, quantity in rows.values_list("investor_id", "wallet", "quantity"):
                self.balances[holder_key(investor_id, wallet)] = quantity
        for key in keys:
            self.balances.setdefault(key, 0)

    def posted(self, posting: LedgerPosting, moves: list[tuple[Lot, int]]) -> None:
        before: dict[HolderKey, int] = {}
        for lot, delta in moves:
            key = holder_key(lot.investor_id, lot.wallet)
            if key not in self.balances:
                self._load({key})
            before.setdefault(key, self.balances[key])
            self.balances[key] += delta
            self.touched.add(key)
        posting.holders_delta = sum((self.balances[k] > 0) - (b > 0) for k, b in before.items())
        if posting.holders_delta:
            self.changed.append(posting)
        day = self.days[_day(posting.chain_time)]
        day[0] += posting.holders_delta
        day[1] += supply_change(posting)

    def finish(self) -> None:
        LedgerPosting.objects.bulk_update(self.changed, ["holders_delta"], batch_size=1000)
        _register_days_add(self.offering_id, self.days)
        positions_refresh(offering_id=self.offering_id, keys=self.touched)


# Deleting postings (a replay, or the indexer's rollback by CASCADE): the day totals give back what the
# postings added, and the holders they touched are recomputed from the lots left once the delete is done.


def posting_removing(posting: LedgerPosting) -> None:
    """Before a posting is deleted (its lots and movements still exist)."""
    keys = LotMovement.objects.filter(posting=posting).values_list("lot__investor_id", "lot__wallet").distinct()
    posting._holders_touched = {holder_key(i, w) for i, w in keys}  # type: ignore[attr-defined]
    days = {_day(posting.chain_time): [-posting.holders_delta, -supply_change(posting)]}
    _register_days_add(posting.offering_id, days)


def posting_removed(posting: LedgerPosting) -> None:
    """After the delete: its lots and movements are gone, and the holders are recomputed without them."""
    keys: set[HolderKey] = getattr(posting, "_holders_touched", set())
    if keys:
        positions_refresh(offering_id=posting.offering_id, keys=keys)


def on_posting_pre_delete(sender: Any, instance: LedgerPosting, **kwargs: Any) -> None:
    posting_removing(instance)


def on_posting_post_delete(sender: Any, instance: LedgerPosting, **kwargs: Any) -> None:
    posting_removed(instance)
