"""Token events written as the indexer stores them and posted by the ledger service, for registry tests.

Events sit in blocks of the session's anvil (the ledger reads block times from the node). `ledger_shift`
moves postings back in time as if the blocks were older, then derives the positions and day totals again,
so a test can look at a register that grew over months.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Max

from offerings.models import Offering
from registry.models import LedgerPosting, Lot, LotMovement
from registry.services.ledger import ZERO, ledger_sync
from registry.services.positions import positions_rebuild
from tokens.models import ChainEvent, ContractDeployment, ContractKind

_hashes = itertools.count(1)


def token_of(offering: Offering) -> ContractDeployment:
    """The offering's token as the pipeline records it once deployed (its events are written below)."""
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref)
    if not token.address:
        token.address = f"0x{offering.pk:040x}"
        token.save(update_fields=["address"])
    return token


class Events:
    """Transfer events of one token, all in block 0, each with its own log index."""

    def __init__(self, offering: Offering) -> None:
        self.offering = offering
        self.token = token_of(offering)
        self.block_hash = f"0x{next(_hashes):064x}"
        # After the token's events already stored, so posting these never replays the ledger behind them.
        last = ChainEvent.objects.filter(contract_address=self.token.address).aggregate(n=Max("log_index"))["n"]
        self.log_index = itertools.count(0 if last is None else last + 1)

    def transfer(self, source: str, target: str, amount: int) -> ChainEvent:
        index = next(self.log_index)
        return ChainEvent.objects.create(
            chain_id=31337,
            contract_address=self.token.address,
            block_number=0,
            block_hash=self.block_hash,
            transaction_hash=f"0x{next(_hashes):064x}",
            log_index=index,
            name="Transfer",
            args={"from": source, "to": target, "value": str(amount)},
        )

    def mint(self, wallet: str, amount: int) -> ChainEvent:
        return self.transfer(ZERO, wallet, amount)

    def burn(self, wallet: str, amount: int) -> ChainEvent:
        return self.transfer(wallet, ZERO, amount)

    def post(self) -> int:
        return ledger_sync(offering=self.offering)


def ledger_shift(offering: Offering, postings: Iterable[LedgerPosting] | Any, delta: dt.timedelta) -> None:
    """Move these postings (and the lots they opened) by `delta` in time, then derive positions again."""
    ids = [p.pk for p in postings]
    LedgerPosting.objects.filter(pk__in=ids).update(chain_time=F("chain_time") + delta)
    LotMovement.objects.filter(posting_id__in=ids).update(chain_time=F("chain_time") + delta)
    lots = Lot.objects.filter(opened_by_id__in=ids)
    lots.update(acquired_at=F("acquired_at") + delta)
    # A lot opened by a mint was issued then; a transferred lot keeps its source's issue date and lock-up.
    lots.filter(source__isnull=True).update(issued_at=F("issued_at") + delta)
    lots.filter(source__isnull=True, lockup_release__isnull=False).update(lockup_release=F("lockup_release") + delta)
    positions_rebuild(offering=offering)
