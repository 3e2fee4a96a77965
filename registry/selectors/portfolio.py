"""An investor's holdings, read from the holdings ledger.

Units the outbox has minted but the ledger has not posted yet (the indexer reads final blocks only)
are added from the subscriptions, so a closing shows at once; `recorded` says whether all of a
holding is on the register.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum

from investors.models import InvestorProfile
from offerings.models import Offering, Subscription, SubscriptionStatus
from registry.models import LedgerPosting, Lot, LotMovement
from tokens.models import ChainTransaction
from tokens.selectors import explorer_url


@dataclass
class Holding:
    offering: Offering
    quantity: int
    amount_minor: int
    issued_at: dt.datetime | None
    lockup_release: dt.datetime | None
    tx_hash: str | None
    tx_url: str | None
    state: str  # "issued" | "minting"
    recorded: bool = True  # every unit is posted on the ledger
    wallets: tuple[str, ...] = ()


def portfolio(*, investor: InvestorProfile) -> list[Holding]:
    """Holdings per offering, from the ledger's lots, with the latest lock-up release and acquisition."""
    holdings: dict[int, Holding] = {}
    remaining = dict(
        LotMovement.objects.filter(lot__investor=investor).values_list("lot_id").annotate(n=Sum("delta")).order_by()
    )
    lots = (
        Lot.objects.filter(pk__in=[pk for pk, n in remaining.items() if n > 0])
        .select_related("offering__issuer")
        .order_by("offering_id", "acquired_at", "id")
    )
    for lot in lots:
        units = int(remaining[lot.pk])
        h = holdings.get(lot.offering_id)
        if h is None:
            h = holdings[lot.offering_id] = Holding(
                offering=lot.offering,
                quantity=0,
                amount_minor=0,
                issued_at=None,
                lockup_release=None,
                tx_hash=None,
                tx_url=None,
                state="issued",
            )
        h.quantity += units
        if lot.cost_basis_minor is not None:
            h.amount_minor += lot.cost_basis_minor * units // lot.quantity
        if h.issued_at is None or lot.acquired_at > h.issued_at:
            h.issued_at = lot.acquired_at
            h.tx_hash, h.tx_url = lot.transaction_hash, explorer_url(lot.transaction_hash)
        if lot.lockup_release and (h.lockup_release is None or lot.lockup_release > h.lockup_release):
            h.lockup_release = lot.lockup_release
        if lot.wallet not in h.wallets:
            h.wallets = (*h.wallets, lot.wallet)
    _add_unposted(investor, holdings)
    return list(holdings.values())


def _add_unposted(investor: InvestorProfile, holdings: dict[int, Holding]) -> None:
    rows = (
        Subscription.objects.filter(
            investor=investor, status__in=[SubscriptionStatus.ISSUED, SubscriptionStatus.ALLOCATED]
        )
        .select_related("offering__issuer", "mint_batch__chain_transaction")
        .order_by("offering_id", "pk")
    )
    hashes = {s.mint_batch.chain_transaction.tx_hash for s in rows if s.mint_batch and s.mint_batch.chain_transaction}
    posted = set(
        LedgerPosting.objects.filter(transaction_hash__in={h for h in hashes if h}).values_list(
            "transaction_hash", flat=True
        )
    )
    for s in rows:
        tx: ChainTransaction | None = s.mint_batch.chain_transaction if s.mint_batch else None
        if tx is not None and tx.tx_hash in posted:
            continue
        h = holdings.get(s.offering_id)
        if h is None:
            h = holdings[s.offering_id] = Holding(
                offering=s.offering,
                quantity=0,
                amount_minor=0,
                issued_at=None,
                lockup_release=None,
                tx_hash=tx.tx_hash if tx else None,
                tx_url=explorer_url(tx.tx_hash if tx else None),
                state="issued",
            )
        h.recorded = False
        h.quantity += s.quantity
        h.amount_minor += s.amount_minor
        if s.status != SubscriptionStatus.ISSUED:
            h.state = "minting"
        if s.issued_at and (h.issued_at is None or s.issued_at > h.issued_at):
            h.issued_at = s.issued_at
            if tx is not None and tx.tx_hash:
                h.tx_hash, h.tx_url = tx.tx_hash, explorer_url(tx.tx_hash)
        if h.issued_at and s.offering.lockup_seconds:
            release = s.issued_at + dt.timedelta(seconds=s.offering.lockup_seconds) if s.issued_at else None
            if release and (h.lockup_release is None or release > h.lockup_release):
                h.lockup_release = release
