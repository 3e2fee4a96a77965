"""Reads of the holdings ledger: holdings, lots and restrictions now or "as of" a past block or date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max, Q, QuerySet, Sum

from investors.models import InvestorProfile
from offerings.models import Offering
from registry.models import LedgerPosting, Lot, LotMovement, PostingKind


@dataclass(frozen=True)
class AsOf:
    """A point on the register: a block number, a moment (block time), or now when both are None."""

    block: int | None = None
    at: dt.datetime | None = None

    def movements(self, rows: QuerySet[LotMovement]) -> QuerySet[LotMovement]:
        if self.block is not None:
            rows = rows.filter(block_number__lte=self.block)
        if self.at is not None:
            rows = rows.filter(chain_time__lte=self.at)
        return rows

    def postings(self, rows: QuerySet[LedgerPosting]) -> QuerySet[LedgerPosting]:
        if self.block is not None:
            rows = rows.filter(block_number__lte=self.block)
        if self.at is not None:
            rows = rows.filter(chain_time__lte=self.at)
        return rows


NOW = AsOf()

# A holder of record: (investor id, "") for an investor across their wallets, (None, wallet) for a wallet
# the portal does not know. Exchange Act 12(g) counts persons, not wallets.
HolderKey = tuple[int | None, str]


def holder_key(investor_id: int | None, wallet: str) -> HolderKey:
    return (investor_id, "") if investor_id is not None else (None, wallet)


@dataclass(frozen=True)
class OpenLot:
    investor_id: int | None
    wallet: str
    remaining: int
    acquired_at: dt.datetime
    exemption: str
    lockup_release: dt.datetime | None


@dataclass
class PositionFigures:
    """One holder's open lots summed: what `HolderPosition` stores and the as-of cap table computes."""

    quantity: int = 0
    lots: int = 0
    wallets: list[str] = field(default_factory=list)
    exemptions: list[str] = field(default_factory=list)
    first_acquired_at: dt.datetime | None = None
    lockup_last_release: dt.datetime | None = None
    lockup_first_release: dt.datetime | None = None
    _all_locked: bool = True


def positions_of_lots(lots: Iterable[OpenLot]) -> dict[HolderKey, PositionFigures]:
    """Open lots (remaining > 0) summed per holder."""
    out: dict[HolderKey, PositionFigures] = {}
    for lot in lots:
        p = out.setdefault(holder_key(lot.investor_id, lot.wallet), PositionFigures())
        p.quantity += lot.remaining
        p.lots += 1
        if lot.wallet not in p.wallets:
            p.wallets.append(lot.wallet)
        if lot.exemption not in p.exemptions:
            p.exemptions.append(lot.exemption)
        if p.first_acquired_at is None or lot.acquired_at < p.first_acquired_at:
            p.first_acquired_at = lot.acquired_at
        release = lot.lockup_release
        if release is not None and (p.lockup_last_release is None or release > p.lockup_last_release):
            p.lockup_last_release = release
        if release is None:
            p._all_locked = False
            p.lockup_first_release = None
        elif p._all_locked and (p.lockup_first_release is None or release < p.lockup_first_release):
            p.lockup_first_release = release
    for p in out.values():
        p.wallets.sort()
        p.exemptions.sort()
    return out


def wallet_balances(*, offering: Offering, as_of: AsOf = NOW) -> dict[str, int]:
    """wallet → units the ledger holds for it (wallets holding nothing are left out)."""
    rows = (
        as_of.movements(LotMovement.objects.filter(lot__offering=offering))
        .values_list("lot__wallet")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    return {wallet: int(total) for wallet, total in rows if total}


def investor_totals(*, offering: Offering, as_of: AsOf = NOW) -> dict[int | None, int]:
    """investor id → units across all their wallets (None: wallets the portal does not know)."""
    rows = (
        as_of.movements(LotMovement.objects.filter(lot__offering=offering))
        .values_list("lot__investor_id")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    return {investor_id: int(total) for investor_id, total in rows if total}


def ledger_total(*, offering: Offering, as_of: AsOf = NOW) -> int:
    total = as_of.movements(LotMovement.objects.filter(lot__offering=offering)).aggregate(t=Sum("delta"))["t"]
    return int(total or 0)


def ledger_block(*, offering: Offering) -> int | None:
    """The last block the ledger has posted for the token."""
    return LedgerPosting.objects.filter(offering=offering).aggregate(b=Max("block_number"))["b"]


@dataclass(frozen=True)
class LotRow:
    lot: Lot
    remaining: int


def lots_held(
    *, offering: Offering, investor: InvestorProfile | None = None, wallet: str | None = None, as_of: AsOf = NOW
) -> list[LotRow]:
    """The lots with units left, oldest acquisition first, with what remains of each at that point."""
    movements = as_of.movements(LotMovement.objects.filter(lot__offering=offering))
    if investor is not None:
        movements = movements.filter(lot__investor=investor)
    if wallet is not None:
        movements = movements.filter(lot__wallet=wallet)
    remaining = dict(movements.values_list("lot_id").annotate(total=Sum("delta")).order_by())
    # With the posting that opened each lot: pages mark the units that arrived by a transfer made outside the portal.
    lots = (
        Lot.objects.filter(pk__in=[pk for pk, n in remaining.items() if n])
        .select_related("opened_by")
        .order_by("acquired_at", "id")
    )
    return [LotRow(lot=lot, remaining=int(remaining[lot.pk])) for lot in lots]


@dataclass(frozen=True)
class Restrictions:
    paused: bool
    frozen_wallets: frozenset[str]
    frozen_amounts: dict[str, int]  # wallet → units frozen in it


def restrictions(*, offering: Offering, as_of: AsOf = NOW) -> Restrictions:
    """Pause, frozen wallets and frozen amounts as the token's events left them at that point."""
    postings = as_of.postings(LedgerPosting.objects.filter(offering=offering)).exclude(
        kind__in=[PostingKind.MINT, PostingKind.BURN, PostingKind.TRANSFER, PostingKind.FORCED_TRANSFER]
    )
    paused = False
    frozen: set[str] = set()
    amounts: dict[str, int] = defaultdict(int)
    for p in postings.order_by("block_number", "log_index").only("kind", "to_wallet", "from_wallet", "quantity"):
        if p.kind == PostingKind.PAUSE:
            paused = True
        elif p.kind == PostingKind.UNPAUSE:
            paused = False
        elif p.kind == PostingKind.FREEZE:
            frozen.add(p.to_wallet)
        elif p.kind == PostingKind.UNFREEZE:
            frozen.discard(p.to_wallet)
        elif p.kind == PostingKind.PARTIAL_FREEZE:
            amounts[p.to_wallet] += p.quantity
        elif p.kind == PostingKind.PARTIAL_UNFREEZE:
            amounts[p.to_wallet] -= p.quantity
        elif p.kind == PostingKind.RECOVERY:
            # The token moves the lost wallet's frozen amount to the new wallet and re-emits it there.
            amounts.pop(p.from_wallet, None)
            frozen.discard(p.from_wallet)
    return Restrictions(
        paused=paused, frozen_wallets=frozenset(frozen), frozen_amounts={w: n for w, n in amounts.items() if n > 0}
    )


@dataclass(frozen=True)
class WalletRestrictions:
    paused: bool
    frozen: bool  # the whole wallet
    frozen_amount: int  # units frozen in it


def wallet_restrictions(*, offering: Offering, wallet: str) -> WalletRestrictions:
    """`restrictions` for one wallet, reading only that wallet's postings and the token's pauses."""
    rows = (
        LedgerPosting.objects.filter(offering=offering)
        .filter(
            Q(kind__in=[PostingKind.PAUSE, PostingKind.UNPAUSE])
            | Q(to_wallet=wallet, kind__in=[PostingKind.FREEZE, PostingKind.UNFREEZE])
            | Q(to_wallet=wallet, kind__in=[PostingKind.PARTIAL_FREEZE, PostingKind.PARTIAL_UNFREEZE])
            | Q(from_wallet=wallet, kind=PostingKind.RECOVERY)
        )
        .order_by("block_number", "log_index")
        .values_list("kind", "quantity")
    )
    paused = frozen = False
    amount = 0
    for kind, quantity in rows:
        if kind in (PostingKind.PAUSE, PostingKind.UNPAUSE):
            paused = kind == PostingKind.PAUSE
        elif kind in (PostingKind.FREEZE, PostingKind.UNFREEZE):
            frozen = kind == PostingKind.FREEZE
        elif kind == PostingKind.PARTIAL_FREEZE:
            amount += quantity
        elif kind == PostingKind.PARTIAL_UNFREEZE:
            amount -= quantity
        else:  # recovered away: its frozen status and amount moved to the new wallet
            frozen, amount = False, 0
    return WalletRestrictions(paused=paused, frozen=frozen, frozen_amount=max(amount, 0))


def postings_late(*, offering: Offering | None = None) -> list[LedgerPosting]:
    """Postings that reached the ledger more than 30 calendar days after their chain event (17Ad-10)."""
    rows = LedgerPosting.objects.all() if offering is None else LedgerPosting.objects.filter(offering=offering)
    return [p for p in rows.order_by("block_number", "log_index") if p.late]


def journal(*, offering: Offering, since: dt.datetime | None = None, until: dt.datetime | None = None) -> QuerySet:
    """Postings in chain order, for the transaction journal."""
    rows = LedgerPosting.objects.filter(offering=offering).select_related("from_investor", "to_investor")
    if since is not None:
        rows = rows.filter(chain_time__gte=since)
    if until is not None:
        rows = rows.filter(Q(chain_time__lt=until))
    return rows.order_by("block_number", "log_index")
