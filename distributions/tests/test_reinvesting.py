"""Reinvestment on a real anvil: the register splits an electing holder's net into whole tokens at the
declared price and cash, counting elections open at the record date; on the payment date the tokens are
minted once through the pipeline, whatever runs twice or dies half-way, and the ledger shows the new lot
at the declared price; a holder the token would refuse is paid in cash in full, with the reason."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.approvals import approval_approve
from core.models import AuditEvent
from distributions.models import (
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
    ReinvestmentElection,
    ReinvestmentMint,
)
from distributions.services import reinvesting
from distributions.services.approval import distribution_propose
from distributions.services.declaring import distribution_declare
from distributions.services.register import distribution_register_compute
from distributions.services.reinvesting import distribution_reinvest, lines_cash_due, reinvestment_waiting
from distributions.tests.support import declaration, payable_today, second_admin, w9
from registry.models import ControlBookEntry, ControlEntryKind, Lot, RecordDifference
from registry.services.ledger import ledger_sync
from registry.services.reconciliation import reconcile
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import chain_head_time
from tokens.services import token_freeze_wallet
from tokens.tests.support import WALLETS, Chain, chain_indexed, drain, token_balance, wait_until

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

PRICE = 1_000_00  # $1,000.00 a token


def _elect(closed: Closed, investor, *, at: dt.datetime) -> None:
    election = ReinvestmentElection.objects.create(offering=closed.offering, investor=investor)
    ReinvestmentElection.objects.filter(pk=election.pk).update(elected_at=at)


def _computed(closed: Closed, cast, *, late_election: bool = True) -> Distribution:
    """$1,000,000.01 declared with reinvestment at $1,000; Bob elected before the record date, Alice after."""
    w9(closed.alice)
    record_at = max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10)
    distribution = distribution_declare(
        issuer=cast.issuer,
        offering=closed.offering,
        actor=cast.admin,
        data=declaration(record_at=record_at, reinvestment_price_minor=PRICE, **payable_today()),
    )
    drain()
    _elect(closed, closed.bob, at=record_at - dt.timedelta(minutes=5))
    if late_election:
        _elect(closed, closed.alice, at=record_at + dt.timedelta(seconds=30))  # after the cut-off
    Chain(rpc_url=closed.rpc_url).rpc("evm_setNextBlockTimestamp", [int(record_at.timestamp()) + 1])
    Chain(rpc_url=closed.rpc_url).rpc("evm_mine")
    drain()
    chain_indexed(closed.rpc_url)
    return distribution_register_compute(distribution=distribution, actor=cast.admin)


def _approved(closed: Closed, cast, **kwargs) -> Distribution:
    distribution = _computed(closed, cast, **kwargs)
    outcome = distribution_propose(distribution=distribution, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.APPROVED
    return distribution


def _line(distribution: Distribution, investor) -> DistributionLine:
    return DistributionLine.objects.get(distribution=distribution, investor=investor)


def test_the_register_reinvests_whole_tokens_for_elections_made_before_the_record_date(closed: Closed, cast) -> None:
    distribution = _computed(closed, cast)
    alice, bob = _line(distribution, closed.alice), _line(distribution, closed.bob)
    # Bob: 600,000.01 gross, 24 % backup withholding, 456,000.01 net: 456 tokens and a cent in cash.
    assert (bob.reinvest, bob.net_minor, bob.reinvest_units, bob.cash_minor) == (True, 456_000_01, 456, 1)
    assert bob.destination_wallet == WALLETS[2]  # minted to the wallet that held his units
    # Alice elected after the record date: this distribution pays her in cash.
    assert (alice.reinvest, alice.reinvest_units, alice.cash_minor) == (False, 0, alice.net_minor)
    for line in DistributionLine.objects.filter(distribution=distribution):
        assert line.reinvest_units * PRICE + line.cash_minor == line.net_minor
        assert 0 <= line.cash_minor < PRICE or not line.reinvest


def test_reinvested_tokens_are_minted_once_through_a_duplicate_task_and_a_worker_dying_half_way(
    closed: Closed, cast, monkeypatch
) -> None:
    distribution = _approved(closed, cast)
    bob = _line(distribution, closed.bob)
    # The worker dies after queuing the mint, before its transaction commits: nothing of it is kept.
    real_mint = reinvesting.token_batch_mint

    def dies(**kwargs):
        real_mint(**kwargs)
        raise ConnectionError("worker killed")

    monkeypatch.setattr(reinvesting, "token_batch_mint", dies)
    with pytest.raises(ConnectionError):
        distribution_reinvest(distribution=distribution)
    assert (
        not ReinvestmentMint.objects.exists()
        and not ChainTransaction.objects.filter(idempotency_key__startswith=f"{bob.idempotency_key}:reinvest").exists()
    )
    monkeypatch.setattr(reinvesting, "token_batch_mint", real_mint)

    first = distribution_reinvest(distribution=distribution)  # the task delivered again
    again = distribution_reinvest(distribution=distribution)  # and a duplicate of it
    assert (first.queued, again.queued, first.waiting) == (1, 0, 1)
    assert ChainTransaction.objects.filter(idempotency_key__startswith=f"{bob.idempotency_key}:reinvest").count() == 1
    assert lines_cash_due(distribution=distribution).filter(pk=bob.pk).count() == 0  # the cent waits for the tokens

    drain()
    chain_indexed(closed.rpc_url)
    settled = distribution_reinvest(distribution=distribution)
    assert (settled.settled, settled.waiting) == (1, 0)
    distribution_reinvest(distribution=distribution)  # once more: nothing new
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300 + 456

    bob.refresh_from_db()
    mint = ReinvestmentMint.objects.get()
    assert bob.reinvest_mint == mint and mint.settled_at is not None
    # The cent is paid by the cash path, now that the tokens are minted.
    assert lines_cash_due(distribution=distribution).filter(pk=bob.pk).exists()
    assert bob.payment_state == LinePaymentState.PENDING and bob.cash_minor == 1
    lot = Lot.objects.get(offering=closed.offering, transaction_hash=mint.chain_transaction.tx_hash)
    assert (lot.investor, lot.wallet, lot.quantity) == (closed.bob, WALLETS[2], 456)
    assert (lot.cost_basis_minor, lot.currency) == (456 * PRICE, "USD")
    assert lot.acquired_at.date() >= distribution.record_date
    # A replay of the ledger from scratch gives the lot the same cost basis.
    assert ledger_sync(offering=closed.offering) == 0
    assert AuditEvent.objects.filter(action="distribution.reinvestment_mint_settled").count() == 1
    # The control book has the reinvested units as issued by the portal: reconciliation finds no difference.
    entry = ControlBookEntry.objects.get(offering=closed.offering, transaction_hash=mint.chain_transaction.tx_hash)
    assert (entry.kind, entry.quantity) == (ControlEntryKind.ISSUE, 456)
    reconcile(offering=closed.offering)
    assert not RecordDifference.objects.filter(offering=closed.offering, resolved_at__isnull=True).exists()


def test_a_holder_the_token_would_refuse_is_paid_in_cash_in_full_with_the_reason_shown(closed: Closed, cast) -> None:
    distribution = _approved(closed, cast)
    # Bob's wallet is frozen after the record date: the token would refuse to mint to it.
    token_freeze_wallet(owner_ref=closed.offering.owner_ref, wallet=WALLETS[2], frozen=True, idempotency_key="freeze")
    drain()
    progress = distribution_reinvest(distribution=distribution)
    assert (progress.queued, progress.refused, progress.waiting) == (0, 1, 0)
    bob = _line(distribution, closed.bob)
    assert (bob.reinvest_units, bob.cash_minor) == (0, bob.net_minor)
    assert bob.reinvest_refused_reason == "The token would refuse the new tokens: Receiver wallet is frozen."
    assert lines_cash_due(distribution=distribution).filter(pk=bob.pk).exists()
    assert not ReinvestmentMint.objects.exists()
    assert reinvestment_waiting(distribution=distribution) == 0
    assert AuditEvent.objects.filter(action="distribution.reinvestment_refused", object_id=str(bob.pk)).exists()

    admin = Client()
    admin.force_login(cast.admin)
    page = admin.get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])).content.decode()
    assert "none: The token would refuse the new tokens: Receiver wallet is frozen." in page
    investor = Client()
    investor.force_login(closed.bob.user)
    portfolio = investor.get(reverse("portfolio")).content.decode()
    assert "Paid in cash: The token would refuse the new tokens: Receiver wallet is frozen." in portfolio


@pytest.mark.worker
def test_a_worker_killed_after_queuing_the_mint_and_a_duplicate_task_still_mint_once(
    closed: Closed, cast, celery_worker_process, chain_settings
) -> None:
    from distributions.tasks import distribution_reinvest_task
    from portal.celery import app

    distribution = _approved(closed, cast)
    bob = _line(distribution, closed.bob)
    env = {"CHAIN_RPC_URL": chain_settings.rpc_url, "CHAIN_ID": "31337"}
    # This worker queues the mint, then dies the moment it has signed it, before sending it.
    doomed = celery_worker_process("doomed-reinvest", {**env, "CHAIN_FAILPOINTS": "after_sign"})
    distribution_reinvest_task.delay(distribution.pk)
    doomed.wait(timeout=90)
    assert doomed.returncode == -signal.SIGKILL
    (tx,) = ChainTransaction.objects.filter(idempotency_key__startswith=f"{bob.idempotency_key}:reinvest")
    assert tx.status == TxStatus.SIGNED
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300

    celery_worker_process("healthy-reinvest", env)
    distribution_reinvest_task.delay(distribution.pk)  # the beat's next pass
    distribution_reinvest_task.delay(distribution.pk)  # and a duplicate of it

    def confirmed() -> bool:
        app.send_task("tokens.tasks.outbox_watch_task")  # the beat's watcher
        return ChainTransaction.objects.get(pk=tx.pk).status == TxStatus.CONFIRMED

    wait_until(confirmed, what="the reinvestment mint confirmed", interval=0.5)
    chain_indexed(closed.rpc_url)
    distribution_reinvest_task.delay(distribution.pk)
    wait_until(
        lambda: ReinvestmentMint.objects.filter(settled_at__isnull=False).exists(),
        what="the reinvestment settled",
        interval=0.5,
    )
    assert ChainTransaction.objects.filter(idempotency_key__contains=":reinvest:").count() == 1
    assert ReinvestmentMint.objects.count() == 1
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300 + 456


@pytest.mark.parametrize(
    ("price_minor", "units", "cash_minor", "bob_finally"),
    [
        (1_000_00, 2, 280_00, LinePaymentState.PAID),  # 2 tokens, $280.00 left in cash
        (760_00, 3, 0, LinePaymentState.REINVESTED),  # 3 tokens, nothing in cash
    ],
)
def test_a_reinvesting_holder_paid_on_chain_gets_their_cash_only_once_their_tokens_are_minted(
    closed: Closed, cast, price_minor: int, units: int, cash_minor: int, bob_finally: str
) -> None:
    from distributions.tasks import distribution_pay_task
    from distributions.tests.paying import ALICE_CASH, BOB_CASH, UNITS_PER_CENT, approved_distribution
    from tokens.tests.support import coin_balance

    distribution = approved_distribution(closed, cast, reinvestment_price_minor=price_minor, reinvesting=(closed.bob,))
    bob = _line(distribution, closed.bob)
    assert (bob.net_minor, bob.reinvest_units, bob.cash_minor) == (BOB_CASH, units, cash_minor)

    # The payment run mints Bob's tokens first; his cash waits for them, Alice's is sent.
    distribution_pay_task(distribution.pk)
    bob, alice = _line(distribution, closed.bob), _line(distribution, closed.alice)
    assert bob.reinvest_mint is not None and bob.payment_transaction_id is None
    assert (bob.payment_state, alice.payment_state) == (LinePaymentState.PENDING, LinePaymentState.SENDING)
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAYING

    for _ in range(3):  # the workers mint and pay, the indexer reads the chain, the next runs mark them
        drain()
        chain_indexed(closed.rpc_url)
        distribution_pay_task(distribution.pk)
    bob, alice = _line(distribution, closed.bob), _line(distribution, closed.alice)
    assert (bob.payment_state, alice.payment_state) == (bob_finally, LinePaymentState.PAID)
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAID
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 300 + units
    assert coin_balance(closed.rpc_url, WALLETS[2]) == cash_minor * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_CASH * UNITS_PER_CENT
    assert units * price_minor + cash_minor == bob.net_minor
    assert AuditEvent.objects.filter(action="distribution.paid", object_id=str(distribution.pk)).count() == 1
