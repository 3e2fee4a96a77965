"""What a holder reads before and after moving units: each lot with its lock-up and resale holding period, the
wallets that can send, the transfers in and out of their wallets (marked when made outside the portal), and the
exception requests they filed; what an issuer reads of the requests made to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.models import Issuer
from investors.models import InvestorProfile, Wallet, WalletKind
from offerings.models import Offering
from registry.legends import legend_for
from registry.models import MOVING_KINDS, HolderPosition, LedgerPosting, PostingKind
from registry.selectors.ledger import lots_held
from transfers.models import (
    OPEN_REQUEST_STATES,
    OPEN_TRANSFER_STATES,
    HolderTransfer,
    RequestState,
    TransferRequest,
    TransferState,
)

# Restricted securities under Rule 144(a)(3) whose resale waits for the Rule 144(d) holding period.
RULE_144_EXEMPTIONS = frozenset({"reg_d_506b", "reg_d_506c", "reg_s"})
# Reg CF 227.501(a): one year from issue, transfers only to the persons it names.
REG_CF_YEAR = dt.timedelta(days=365)


@dataclass(frozen=True)
class LotView:
    """One lot as its holder sees it before a transfer: what is left, and when each restriction ends."""

    wallet: str
    remaining: int
    issued_at: dt.datetime
    acquired_at: dt.datetime
    exemption: str
    lockup_release: dt.datetime | None  # the token's lock-up (enforced on-chain)
    holding_rule: str  # the resale rule its units carry, in words
    holding_ends: dt.datetime | None  # when that holding period ends (None: no such period)
    moved_outside_portal: bool  # the lot arrived by a transfer the portal did not send

    @property
    def locked(self) -> bool:
        return self.lockup_release is not None and self.lockup_release > timezone.now()

    @property
    def holding(self) -> bool:
        return self.holding_ends is not None and self.holding_ends > timezone.now()


def holding_period(*, exemption: str, issued_at: dt.datetime) -> tuple[str, dt.datetime | None]:
    """The resale holding period of units issued under `exemption` on `issued_at`, tacked to the first sale."""
    if exemption in RULE_144_EXEMPTIONS:
        # Rule 144(d)(1)(ii), and (d)(3)(ii): a buyer from a holder who is not an affiliate tacks on its time.
        days = int(str(settings.EXEMPTION_FIGURES["rule_144_holding_days"]))
        return "Rule 144 holding period", issued_at + dt.timedelta(days=days)
    if exemption == "reg_cf":
        return "Reg CF 227.501 first year (only to the permitted transferees)", issued_at + REG_CF_YEAR
    if legend_for(exemption) is None:
        return "Not restricted securities", None
    return "Restricted securities", None


def lots_for_transfer(*, offering: Offering, investor: InvestorProfile) -> list[LotView]:
    """The investor's open lots of the token, oldest first, with their lock-up and holding period."""
    rows = lots_held(offering=offering, investor=investor)
    outside = set(
        LedgerPosting.objects.filter(
            pk__in=[row.lot.opened_by_id for row in rows], via_portal=False, kind=PostingKind.TRANSFER
        ).values_list("pk", flat=True)
    )
    views = []
    for row in rows:
        rule, ends = holding_period(exemption=row.lot.exemption, issued_at=row.lot.issued_at)
        views.append(
            LotView(
                wallet=row.lot.wallet,
                remaining=row.remaining,
                issued_at=row.lot.issued_at,
                acquired_at=row.lot.acquired_at,
                exemption=row.lot.exemption,
                lockup_release=row.lot.lockup_release,
                holding_rule=rule,
                holding_ends=ends,
                moved_outside_portal=row.lot.opened_by_id in outside,
            )
        )
    return views


@dataclass(frozen=True)
class SendingWallet:
    address: str
    units: int
    free_now: int  # not in a lock-up (frozen units are the token's to say; the check shows them)
    custodial: bool
    custodian_name: str


def sending_wallets(*, lots: Iterable[LotView], investor: InvestorProfile) -> list[SendingWallet]:
    """The investor's linked wallets that hold units of the token, with how much is out of its lock-up."""
    linked = {w.address: w for w in Wallet.objects.filter(investor=investor, removed_at__isnull=True)}
    units: dict[str, list[int]] = {}
    for lot in lots:
        held = units.setdefault(lot.wallet, [0, 0])
        held[0] += lot.remaining
        if not lot.locked:
            held[1] += lot.remaining
    return [
        SendingWallet(
            address=address,
            units=held,
            free_now=free,
            custodial=linked[address].kind == WalletKind.CUSTODIAL,
            custodian_name=linked[address].custodian_name,
        )
        for address, (held, free) in units.items()
        if address in linked
    ]


def own_wallets(*, investor: InvestorProfile) -> list[Wallet]:
    return list(Wallet.objects.filter(investor=investor, removed_at__isnull=True).order_by("linked_at"))


@dataclass(frozen=True)
class Movement:
    """A transfer in or out of the investor's wallets, as the register posted it."""

    posting: LedgerPosting
    incoming: bool
    outside_portal: bool


def movements_of(*, investor: InvestorProfile, limit: int = 50) -> list[Movement]:
    """Transfers, forced transfers and recoveries touching the investor's wallets, newest first."""
    moving = [k for k in MOVING_KINDS if k not in (PostingKind.MINT, PostingKind.BURN)]
    rows = (
        LedgerPosting.objects.filter(kind__in=moving)
        .filter(Q(from_investor=investor) | Q(to_investor=investor))
        .select_related("offering", "from_investor", "to_investor")
        .order_by("-block_number", "-log_index")[:limit]
    )
    return [
        Movement(
            posting=p,
            incoming=p.to_investor_id == investor.pk and p.from_investor_id != investor.pk,
            outside_portal=not p.via_portal,
        )
        for p in rows
    ]


def transfers_of(*, investor: InvestorProfile) -> QuerySet[HolderTransfer]:
    return HolderTransfer.objects.filter(investor=investor).select_related("offering", "to_investor")


def transfers_open(*, investor: InvestorProfile) -> list[HolderTransfer]:
    return list(transfers_of(investor=investor).filter(state__in=OPEN_TRANSFER_STATES)[:20])


def investor_transfer(*, investor: InvestorProfile, public_id: Any) -> HolderTransfer | None:
    return transfers_of(investor=investor).filter(public_id=public_id).first()


def portal_signed_hashes(hashes: set[str]) -> set[str]:
    """Of these transaction hashes, those a holder's wallet sent on the portal's instruction (a checked transfer,
    its transaction found to be that transfer): the register marks them as made through the portal."""
    verified = (TransferState.SENT, TransferState.POSTED)
    rows = HolderTransfer.objects.filter(tx_hash__in=hashes, state__in=verified).values_list("tx_hash", flat=True)
    return {h for h in rows if h}


def requests_of(*, investor: InvestorProfile) -> QuerySet[TransferRequest]:
    return TransferRequest.objects.filter(investor=investor).select_related("offering", "action")


def investor_request(*, investor: InvestorProfile, public_id: Any) -> TransferRequest | None:
    return requests_of(investor=investor).filter(public_id=public_id).first()


def issuer_requests(*, issuer: Issuer, state: str | None = None) -> QuerySet[TransferRequest]:
    rows = TransferRequest.objects.filter(offering__issuer=issuer).select_related(
        "offering", "investor", "to_investor", "decided_by", "action"
    )
    if state == "open":
        return rows.filter(state__in=OPEN_REQUEST_STATES)
    if state in RequestState.values:
        return rows.filter(state=state)
    return rows


def issuer_request(*, issuer: Issuer, public_id: Any) -> TransferRequest | None:
    return issuer_requests(issuer=issuer).filter(public_id=public_id).first()


def offerings_held(*, investor: InvestorProfile) -> list[Offering]:
    """Tokens the investor holds units of now, by the register's positions (the portfolio's transfer links)."""
    positions = HolderPosition.objects.filter(investor=investor, quantity__gt=0).select_related("offering__issuer")
    return sorted((p.offering for p in positions), key=lambda o: o.title)
