"""The register at a token's record date: the last block of the record date, each wallet's units on the
holdings ledger at that block, and the token's own checkpoint (`balanceOfAt` / `totalSupplyAt`) to
cross-check them. Distributions pay from it; ballots weigh votes by it."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from core.errors import ApplicationError
from offerings.models import Offering
from registry.models import LotMovement
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import (
    block_at_or_before,
    chain_head_time,
    indexed_through,
    token_balances_at,
    token_deployment,
    token_record_date_ahead,
    token_record_id,
    token_total_supply_at,
)
from tokens.services import CHAIN_TRANSIENT_ERRORS


@dataclass(frozen=True)
class RecordPoint:
    address: str
    record_id: int
    block: int


@dataclass(frozen=True)
class WalletHolding:
    wallet: str
    investor_id: int | None
    units: int


@dataclass(frozen=True)
class Mismatch:
    wallet: str
    ledger: int
    chain: int


def record_point(
    *,
    offering: Offering,
    record_at: dt.datetime,
    record_transaction: ChainTransaction | None,
    record_id: int | None = None,
    resubmit_hint: str = "cancel it and declare it again",
) -> RecordPoint:
    """The token's record id and the last block of the record date, once the chain and the indexer are past it.

    Raises ApplicationError (with a code the pages show in words) while it is not yet known."""
    tx = record_transaction
    if tx is None:
        raise ApplicationError("The record date was never sent to the token.", code="not_scheduled")
    if tx.status == TxStatus.FAILED:
        raise ApplicationError(
            f"The token refused the record date ({tx.error_name or tx.last_error or 'failed'}); {resubmit_hint}.",
            code="schedule_failed",
        )
    if tx.status != TxStatus.CONFIRMED:
        raise ApplicationError(
            "The record date is still being scheduled on the token; try again once its transaction is confirmed.",
            code="schedule_pending",
        )
    token = token_deployment(owner_ref=offering.owner_ref)
    assert token is not None and token.address
    timestamp = int(record_at.timestamp())
    try:
        found_id = record_id or token_record_id(address=token.address, timestamp=timestamp)
        block = block_at_or_before(timestamp=timestamp)
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError("The chain cannot be reached just now; try again shortly.", code="chain_down") from exc
    if found_id is None:
        raise ApplicationError("The token holds no record date at this moment.", code="record_missing")
    if block is None:
        raise ApplicationError(
            f"The record date ({timezone.localtime(record_at):%d %B %Y %H:%M}) has not passed on the chain yet; "
            "the register is read once it has.",
            code="record_ahead",
        )
    through = indexed_through(address=token.address)
    if through < block:
        raise ApplicationError(
            f"The register has read the chain up to block {through}; the record date ends at block {block}. "
            "Try again in a minute.",
            code="ledger_behind",
        )
    return RecordPoint(address=token.address, record_id=found_id, block=block)


def holdings_at(*, offering: Offering, block: int) -> list[WalletHolding]:
    """Each wallet's units on the ledger at the end of `block`, with the investor it belongs to."""
    rows = (
        LotMovement.objects.filter(lot__offering=offering, block_number__lte=block)
        .values_list("lot__wallet", "lot__investor_id")
        .annotate(total=Sum("delta"))
        .order_by("lot__wallet", "lot__investor_id")
    )
    return [WalletHolding(wallet, investor_id, int(total)) for wallet, investor_id, total in rows if total]


def record_cross_check(point: RecordPoint, holdings: list[WalletHolding]) -> tuple[list[Mismatch], int, int]:
    """The wallets whose ledger units differ from the token's checkpoint, the ledger's sum and the token's supply."""
    ledger_by_wallet: dict[str, int] = {}
    for h in holdings:
        ledger_by_wallet[h.wallet] = ledger_by_wallet.get(h.wallet, 0) + h.units
    try:
        chain_by_wallet = token_balances_at(address=point.address, wallets=ledger_by_wallet, record_id=point.record_id)
        chain_supply = token_total_supply_at(address=point.address, record_id=point.record_id)
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError("The chain cannot be reached just now; try again shortly.", code="chain_down") from exc
    mismatches = [
        Mismatch(wallet, units, chain_by_wallet[wallet])
        for wallet, units in sorted(ledger_by_wallet.items())
        if chain_by_wallet[wallet] != units
    ]
    return mismatches, sum(ledger_by_wallet.values()), chain_supply


def record_date_ahead(*, offering: Offering) -> dt.datetime | None:
    """A record date of the offering's token that has not passed on the chain yet, whoever asked for it (a
    distribution, a ballot): held by the token or still being sent to it. The token takes one record date at a
    time (`scheduleRecordDate` refuses a second while one is ahead), so a new one waits until this has passed."""
    now = timezone.now()
    # Without the chain's clock, the portal's: the token compares with its own when the date is sent.
    with contextlib.suppress(*CHAIN_TRANSIENT_ERRORS):
        now = max(now, chain_head_time())
    ahead = token_record_date_ahead(owner_ref=offering.owner_ref, after=int(now.timestamp()))
    return dt.datetime.fromtimestamp(ahead, tz=dt.UTC) if ahead is not None else None
