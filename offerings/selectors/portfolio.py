"""An investor's holdings, read from their subscriptions.

Moves to `registry` (read from the holdings ledger) when the ledger lands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from investors.models import InvestorProfile
from offerings.models import Offering, Subscription, SubscriptionStatus
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


def portfolio(*, investor: InvestorProfile) -> list[Holding]:
    """Holdings per offering (issued or being minted), with the lock-up release and mint transaction."""
    rows = (
        Subscription.objects.filter(
            investor=investor, status__in=[SubscriptionStatus.ISSUED, SubscriptionStatus.ALLOCATED]
        )
        .select_related("offering__issuer", "mint_batch__chain_transaction")
        .order_by("offering_id", "pk")
    )
    holdings: dict[int, Holding] = {}
    for s in rows:
        tx: ChainTransaction | None = s.mint_batch.chain_transaction if s.mint_batch else None
        issued = s.issued_at
        h = holdings.get(s.offering_id)
        if h is None:
            h = holdings[s.offering_id] = Holding(
                offering=s.offering,
                quantity=0,
                amount_minor=0,
                issued_at=issued,
                lockup_release=None,
                tx_hash=tx.tx_hash if tx else None,
                tx_url=explorer_url(tx.tx_hash if tx else None),
                state="issued",
            )
        h.quantity += s.quantity
        h.amount_minor += s.amount_minor
        if s.status != SubscriptionStatus.ISSUED:
            h.state = "minting"
        if issued and (h.issued_at is None or issued > h.issued_at):
            h.issued_at = issued
        if h.issued_at and s.offering.lockup_seconds:
            h.lockup_release = h.issued_at + dt.timedelta(seconds=s.offering.lockup_seconds)
    return list(holdings.values())
