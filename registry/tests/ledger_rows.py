"""Ledger rows written directly, as `ledger_sync` leaves them after posting a token's events.

The ledger service is tested on a real chain (test_ledger.py); exports only read its rows, so their
tests and the benchmark write events, postings, lots and movements here, first-in first-out like the
service, with block times chosen by the test (a chain cannot be asked for last year's blocks).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from investors.models import InvestorProfile
from offerings.models import Offering
from registry.models import LedgerPosting, Lot, LotMovement, PostingKind
from tokens.models import ChainEvent

ZERO = "0x0000000000000000000000000000000000000000"
_hashes = itertools.count(1)


def _hash() -> str:
    return f"0x{next(_hashes):064x}"


@dataclass
class Register:
    offering: Offering
    token: str = "0x00000000000000000000000000000000000000aa"
    block: int = 100
    open_lots: dict[str, list[list]] = field(default_factory=dict)  # wallet → [[lot, remaining], ...]

    def _posting(
        self,
        kind: str,
        *,
        at: dt.datetime,
        source: str = "",
        target: str = "",
        quantity: int,
        from_investor: InvestorProfile | None = None,
        to_investor: InvestorProfile | None = None,
    ) -> LedgerPosting:
        self.block += 1
        tx = _hash()
        event = ChainEvent.objects.create(
            chain_id=31337,
            contract_address=self.token,
            block_number=self.block,
            block_hash=_hash(),
            transaction_hash=tx,
            log_index=0,
            name="Transfer",
            args={"from": source or ZERO, "to": target or ZERO, "value": str(quantity)},
        )
        return LedgerPosting.objects.create(
            event=event,
            offering=self.offering,
            kind=kind,
            block_number=self.block,
            block_hash=event.block_hash,
            log_index=0,
            transaction_hash=tx,
            from_wallet=source,
            to_wallet=target,
            from_investor=from_investor,
            to_investor=to_investor,
            quantity=quantity,
            via_portal=True,
            chain_time=at,
            posted_at=at + dt.timedelta(minutes=1),
        )

    def _moved(self, lot: Lot, posting: LedgerPosting, delta: int) -> None:
        LotMovement.objects.create(
            lot=lot, posting=posting, delta=delta, block_number=posting.block_number, chain_time=posting.chain_time
        )

    def mint(self, investor: InvestorProfile | None, wallet: str, quantity: int, *, at: dt.datetime) -> Lot:
        posting = self._posting(PostingKind.MINT, at=at, target=wallet, quantity=quantity, to_investor=investor)
        lockup = self.offering.lockup_seconds
        lot = Lot.objects.create(
            offering=self.offering,
            investor=investor,
            wallet=wallet,
            quantity=quantity,
            issued_at=at,
            acquired_at=at,
            exemption=self.offering.exemption,
            lockup_release=at + dt.timedelta(seconds=lockup) if lockup else None,
            cost_basis_minor=quantity * self.offering.price_minor,
            currency=self.offering.currency,
            transaction_hash=posting.transaction_hash,
            opened_by=posting,
        )
        self._moved(lot, posting, quantity)
        self.open_lots.setdefault(wallet, []).append([lot, quantity])
        return lot

    def _take(self, wallet: str, quantity: int, posting: LedgerPosting) -> list[tuple[Lot, int]]:
        taken, left = [], quantity
        for entry in self.open_lots.get(wallet, []):
            if left == 0:
                break
            part = min(entry[1], left)
            if part == 0:
                continue
            entry[1] -= part
            left -= part
            self._moved(entry[0], posting, -part)
            taken.append((entry[0], part))
        assert left == 0, f"{wallet} holds less than {quantity}"
        return taken

    def transfer(
        self,
        source: str,
        target: str,
        quantity: int,
        *,
        at: dt.datetime,
        from_investor: InvestorProfile | None,
        to_investor: InvestorProfile | None,
        kind: str = PostingKind.TRANSFER,
    ) -> list[Lot]:
        posting = self._posting(
            kind,
            at=at,
            source=source,
            target=target,
            quantity=quantity,
            from_investor=from_investor,
            to_investor=to_investor,
        )
        opened = []
        for lot, part in self._take(source, quantity, posting):
            new = Lot.objects.create(
                offering=self.offering,
                investor=to_investor,
                wallet=target,
                quantity=part,
                issued_at=lot.issued_at,
                acquired_at=at,
                exemption=lot.exemption,
                lockup_release=lot.lockup_release,
                transaction_hash=posting.transaction_hash,
                opened_by=posting,
                source=lot,
            )
            self._moved(new, posting, part)
            self.open_lots.setdefault(target, []).append([new, part])
            opened.append(new)
        return opened

    def burn(self, source: str, quantity: int, *, at: dt.datetime, investor: InvestorProfile | None) -> None:
        posting = self._posting(PostingKind.BURN, at=at, source=source, quantity=quantity, from_investor=investor)
        self._take(source, quantity, posting)


def mints_bulk(
    offering: Offering,
    holdings: Sequence[tuple[int | None, str, int]],
    *,
    at: dt.datetime,
    first_block: int = 1,
    token: str = "0x00000000000000000000000000000000000000aa",
    per_transaction: int = 1,
    batch: int = 5000,
) -> None:
    """One mint per (investor id, wallet, quantity), `per_transaction` of them in one transaction and block
    (closing mints up to 100 holders at once), written with bulk_create in batches of `batch`."""
    for start in range(0, len(holdings), batch):
        part = holdings[start : start + batch]
        events = ChainEvent.objects.bulk_create(
            [
                ChainEvent(
                    chain_id=31337,
                    contract_address=token,
                    block_number=first_block + (start + i) // per_transaction,
                    # "b…" keeps these apart from the hashes `Register` counts up from 1.
                    block_hash=f"0xb{first_block + (start + i) // per_transaction:063x}",
                    transaction_hash=f"0xb{first_block + (start + i) // per_transaction:063x}",
                    log_index=(start + i) % per_transaction,
                    name="Transfer",
                    args={"from": ZERO, "to": wallet, "value": str(quantity)},
                )
                for i, (_, wallet, quantity) in enumerate(part)
            ]
        )
        postings = LedgerPosting.objects.bulk_create(
            [
                LedgerPosting(
                    event=e,
                    offering=offering,
                    kind=PostingKind.MINT,
                    block_number=e.block_number,
                    block_hash=e.block_hash,
                    log_index=e.log_index,
                    transaction_hash=e.transaction_hash,
                    to_wallet=wallet,
                    to_investor_id=investor_id,
                    quantity=quantity,
                    via_portal=True,
                    chain_time=at,
                    posted_at=at,
                )
                for e, (investor_id, wallet, quantity) in zip(events, part, strict=True)
            ]
        )
        lots = Lot.objects.bulk_create(
            [
                Lot(
                    offering=offering,
                    investor_id=investor_id,
                    wallet=wallet,
                    quantity=quantity,
                    issued_at=at,
                    acquired_at=at,
                    exemption=offering.exemption,
                    cost_basis_minor=quantity * offering.price_minor,
                    currency=offering.currency,
                    transaction_hash=p.transaction_hash,
                    opened_by=p,
                )
                for p, (investor_id, wallet, quantity) in zip(postings, part, strict=True)
            ]
        )
        LotMovement.objects.bulk_create(
            [
                LotMovement(lot=lot, posting=p, delta=lot.quantity, block_number=p.block_number, chain_time=at)
                for lot, p in zip(lots, postings, strict=True)
            ]
        )
