"""The holdings ledger on a real anvil: it equals the token's balances after every kind of movement,
follows a reorg, answers "as of" a past block or date, and keeps lots first-in, first-out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from core.models import AuditEvent
from registry.models import LedgerPosting, Lot, LotMovement, PostingKind
from registry.selectors.cap_table import holder_count
from registry.selectors.ledger import (
    AsOf,
    investor_totals,
    ledger_block,
    ledger_total,
    lots_held,
    postings_late,
    restrictions,
    wallet_balances,
)
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed
from tokens.selectors import block_times, token_balances, token_total_supply
from tokens.services import token_burn, token_forced_transfer, token_freeze_amount, token_recover
from tokens.tests.support import WALLETS, Chain, chain_indexed, contract_send, drain

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _posted(closed: Closed) -> int:
    drain()
    chain_indexed(closed.rpc_url)
    return ledger_sync(offering=closed.offering)


def _direct_transfer(closed: Closed, sender: str, to: str, amount: int) -> str:
    """An ERC-20 transfer the holder signs with their own key, never through the portal."""
    receipt = contract_send(closed.rpc_url, sender, closed.token.address, "SecurityToken", "transfer", to, amount)
    assert receipt["status"] == 1
    return "0x" + bytes(receipt["transactionHash"]).hex()


def _assert_ledger_equals_chain(closed: Closed, block: int | str = "latest") -> None:
    as_of = AsOf(block=None if block == "latest" else int(block))
    ledger = wallet_balances(offering=closed.offering, as_of=as_of)
    chain = token_balances(address=closed.token.address, wallets=WALLETS[:6], block=block)
    assert ledger == {w: n for w, n in chain.items() if n}
    assert ledger_total(offering=closed.offering, as_of=as_of) == token_total_supply(
        address=closed.token.address, block=block
    )
    totals = investor_totals(offering=closed.offering, as_of=as_of)
    for investor, wallets in (
        (closed.alice, WALLETS[0:2]),
        (closed.bob, WALLETS[2:3]),
        (closed.carol, WALLETS[3:5]),
    ):
        assert totals.get(investor.pk, 0) == sum(chain[w] for w in wallets)


def test_closing_mints_appear_on_the_ledger_as_lots_at_the_subscription_price(closed: Closed) -> None:
    assert _posted(closed) == 2
    _assert_ledger_equals_chain(closed)
    (lot,) = Lot.objects.filter(investor=closed.alice)
    assert (lot.wallet, lot.quantity, lot.exemption) == (WALLETS[0], 200, "reg_a_tier2")
    assert lot.cost_basis_minor == 2_000_00 and lot.currency == "USD"
    assert lot.transaction_hash.startswith("0x") and lot.issued_at == lot.acquired_at
    posting = LedgerPosting.objects.get(kind=PostingKind.MINT, to_wallet=WALLETS[0])
    assert posting.via_portal and posting.to_investor == closed.alice
    assert posting.chain_time <= posting.posted_at and not posting.late
    assert ledger_sync(offering=closed.offering) == 0  # posted once
    assert AuditEvent.objects.filter(action="registry.ledger_posted", object_id=str(closed.offering.pk)).count() == 1


def test_the_ledger_equals_the_chain_after_transfers_forced_transfers_recoveries_burns_and_a_reorg(
    closed: Closed,
) -> None:
    _posted(closed)
    own = _direct_transfer(closed, WALLETS[0], WALLETS[1], 50)  # Alice between her own wallets
    Chain(rpc_url=closed.rpc_url).rpc("evm_increaseTime", [3600])  # an hour later
    _direct_transfer(closed, WALLETS[0], WALLETS[2], 30)  # Alice sells to Bob, outside the portal
    token_forced_transfer(
        owner_ref=closed.offering.owner_ref,
        from_wallet=WALLETS[2],
        to_wallet=WALLETS[3],
        amount=120,
        reason="Court order 2026-17",
        idempotency_key="ft-1",
    )
    token_freeze_amount(
        owner_ref=closed.offering.owner_ref, wallet=WALLETS[3], amount=20, frozen=True, idempotency_key="fz-1"
    )
    drain()
    token_recover(
        owner_ref=closed.offering.owner_ref,
        lost_wallet=WALLETS[3],
        new_wallet=WALLETS[4],
        investor_ref=closed.carol.reference,
        idempotency_key="rc-1",
    )
    token_burn(owner_ref=closed.offering.owner_ref, wallet=WALLETS[1], amount=10, idempotency_key="bn-1")
    _posted(closed)
    _assert_ledger_equals_chain(closed)
    kinds = set(LedgerPosting.objects.values_list("kind", flat=True))
    assert {"mint", "transfer", "forced_transfer", "recovery", "burn", "partial_freeze"} <= kinds
    forced = LedgerPosting.objects.get(kind=PostingKind.FORCED_TRANSFER)
    assert forced.reason == "Court order 2026-17" and forced.via_portal
    assert not LedgerPosting.objects.get(transaction_hash=own).via_portal
    # Carol's units moved with their frozen amount to her new wallet.
    assert restrictions(offering=closed.offering).frozen_amounts == {WALLETS[4]: 20}
    # Between one investor's wallets the lot keeps its acquisition date and cost basis.
    (moved,) = [r.lot for r in lots_held(offering=closed.offering, wallet=WALLETS[1])]
    original = Lot.objects.get(wallet=WALLETS[0], source__isnull=True)
    assert moved.acquired_at == original.acquired_at and moved.cost_basis_minor == 500_00
    # Bob bought 30 from Alice: a new acquisition with no known cost.
    bought = Lot.objects.get(wallet=WALLETS[2], source__isnull=False)
    assert bought.cost_basis_minor is None and bought.acquired_at >= original.acquired_at + dt.timedelta(hours=1)
    assert holder_count(offering=closed.offering).holders == 3  # persons, not wallets

    # A block holding a direct transfer is replaced: the ledger follows the chain back.
    before = wallet_balances(offering=closed.offering)
    _direct_transfer(closed, WALLETS[2], WALLETS[0], 7)
    _posted(closed)
    assert wallet_balances(offering=closed.offering)[WALLETS[0]] == before[WALLETS[0]] + 7
    Chain(rpc_url=closed.rpc_url).rpc("anvil_reorg", [1, []])
    _posted(closed)
    _assert_ledger_equals_chain(closed)
    assert wallet_balances(offering=closed.offering) == before
    # Every lot's remaining units are its movements' sum, never below zero.
    for lot_id, remaining in LotMovement.objects.values_list("lot_id").annotate(n=Sum("delta")):
        assert remaining >= 0, lot_id


def test_as_of_a_past_block_or_date_shows_the_holders_then(closed: Closed) -> None:
    _posted(closed)
    after_closing = ledger_block(offering=closed.offering)
    assert after_closing is not None
    closing_time = LedgerPosting.objects.get(block_number=after_closing, to_wallet=WALLETS[0]).chain_time
    Chain(rpc_url=closed.rpc_url).rpc("evm_increaseTime", [60])  # the sale is a minute after the closing
    _direct_transfer(closed, WALLETS[0], WALLETS[2], 200)
    _posted(closed)
    _assert_ledger_equals_chain(closed, block=after_closing)
    then = wallet_balances(offering=closed.offering, as_of=AsOf(block=after_closing))
    assert then == {WALLETS[0]: 200, WALLETS[2]: 300}
    assert wallet_balances(offering=closed.offering, as_of=AsOf(at=closing_time)) == then
    assert wallet_balances(offering=closed.offering) == {WALLETS[2]: 500}
    assert holder_count(offering=closed.offering, as_of=AsOf(block=after_closing)).holders == 2
    assert holder_count(offering=closed.offering).holders == 1


def test_transfers_take_the_oldest_lots_first(closed: Closed) -> None:
    _posted(closed)
    _direct_transfer(closed, WALLETS[2], WALLETS[0], 100)  # Alice now holds a 200 lot, then a 100 lot
    _posted(closed)
    _direct_transfer(closed, WALLETS[0], WALLETS[2], 250)
    _posted(closed)
    left = lots_held(offering=closed.offering, wallet=WALLETS[0])
    assert [(r.lot.quantity, r.remaining) for r in left] == [(100, 50)]  # the 200 lot went first, whole


def test_each_posting_records_its_chain_time_and_a_late_posting_is_listed(closed: Closed) -> None:
    before = timezone.now()
    _posted(closed)
    after = timezone.now()
    posting = LedgerPosting.objects.get(to_wallet=WALLETS[0])
    # The block's own time (anvil's clock may run apart from ours), and the moment it reached the master file.
    assert posting.chain_time == block_times(numbers={posting.block_number})[posting.block_number]
    assert before <= posting.posted_at <= after
    assert postings_late(offering=closed.offering) == []
    # 17Ad-10: a posting made more than 30 calendar days after its event is late.
    LedgerPosting.objects.filter(pk=posting.pk).update(posted_at=posting.chain_time + dt.timedelta(days=31))
    assert postings_late(offering=closed.offering) == [LedgerPosting.objects.get(pk=posting.pk)]
