"""Paying a distribution on-chain on a real anvil: from the payment date on, each holder's cash reaches their
wallet once, lines are marked paid only from final events, a short treasury is refused before anything is
sent, a holder without a wallet is held and paid once they link one, and failed lines are retried."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import Conflict
from core.models import AuditEvent
from distributions.models import Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.services.paying import PaymentRun, distribution_failed_lines_retry, distribution_pay_on_chain
from distributions.tests.paying import ALICE_CASH, BOB_CASH, UNITS_PER_CENT, approved_distribution
from investors.models import Wallet, WalletKind
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import payout_treasury_funds, portal_stablecoin
from tokens.tests.support import (
    WALLETS,
    chain_indexed,
    coin_balance,
    contract_send,
    drain,
    outbox_flush,
    stablecoin_faucet,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def _run(distribution: Distribution) -> PaymentRun:
    return distribution_pay_on_chain(distribution_id=distribution.pk, today=distribution.payment_date)


def _settle(closed: Closed, distribution: Distribution, *, failures_allowed: bool = False) -> PaymentRun:
    """The workers send and confirm the batches, the indexer reads the final events, the next run marks them."""
    drain(failures_allowed=failures_allowed)
    chain_indexed(closed.rpc_url)
    return _run(distribution)


def _lines(distribution: Distribution) -> dict[int, DistributionLine]:
    return {line.investor_id: line for line in DistributionLine.objects.filter(distribution=distribution)}


def _treasury() -> str:
    funds = payout_treasury_funds()
    assert funds is not None
    return funds.treasury


def _treasury_spends(closed: Closed, amount_minor: int) -> None:
    """The treasury sends stablecoin elsewhere, outside the portal."""
    coin = portal_stablecoin()
    assert coin is not None
    receipt = contract_send(
        closed.rpc_url,
        _treasury(),
        coin.address,
        "TestStablecoin",
        "transfer",
        WALLETS[4],
        amount_minor * UNITS_PER_CENT,
    )
    assert receipt["status"] == 1


def _audited(distribution: Distribution, action: str) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(distribution.pk)).count()


def test_on_the_payment_date_each_holder_is_paid_their_cash_once_and_the_distribution_is_paid(
    closed: Closed, cast
) -> None:
    distribution = approved_distribution(closed, cast)
    early = distribution_pay_on_chain(
        distribution_id=distribution.pk, today=distribution.payment_date - dt.timedelta(days=1)
    )
    assert early.state == DistributionState.APPROVED and early.sent == 0

    run = _run(distribution)
    assert (run.state, run.sent, run.batches) == (DistributionState.PAYING, 2, 1)
    assert {line.payment_state for line in _lines(distribution).values()} == {LinePaymentState.SENDING}
    again = _run(distribution)  # the same run again before the batch is mined sends nothing more
    assert again.sent == 0
    assert ChainTransaction.objects.filter(idempotency_key__contains=":pay:").count() == 1

    done = _settle(closed, distribution)
    assert done.state == DistributionState.PAID and done.paid == 2
    lines = _lines(distribution)
    alice, bob = lines[closed.alice.pk], lines[closed.bob.pk]
    (batch,) = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    assert alice.payment_state == bob.payment_state == LinePaymentState.PAID
    assert alice.payment_reference == bob.payment_reference == batch.tx_hash and alice.paid_at is not None
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_CASH * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB_CASH * UNITS_PER_CENT
    funds = payout_treasury_funds()
    assert funds is not None and funds.balance == 0
    actions = set(AuditEvent.objects.filter(object_id=str(distribution.pk)).values_list("action", flat=True))
    assert {
        "distribution.paying",
        "distribution.payment_sent",
        "distribution.lines_paid",
        "distribution.paid",
    } <= actions


def test_a_treasury_too_short_is_refused_with_its_shortfall_and_nothing_is_sent(closed: Closed, cast) -> None:
    distribution = approved_distribution(closed, cast)
    _treasury_spends(closed, 10_00)  # between approval and payment the treasury spends 10.00 of what it held
    run = _run(distribution)
    distribution.refresh_from_db()
    assert run.sent == 0 and distribution.state == DistributionState.APPROVED
    assert "short of the" in distribution.payment_failure and "by 10.00 USD" in distribution.payment_failure
    assert not ChainTransaction.objects.filter(idempotency_key__contains=":pay:").exists()
    assert _audited(distribution, "distribution.payment_refused") == 1
    _run(distribution)  # refused again: the same reason is not audited twice
    assert _audited(distribution, "distribution.payment_refused") == 1
    assert coin_balance(closed.rpc_url, WALLETS[0]) == 0

    stablecoin_faucet(wallet=_treasury(), amount=10_00 * UNITS_PER_CENT, idempotency_key="top-up")
    drain()
    assert _run(distribution).sent == 2
    assert _settle(closed, distribution).state == DistributionState.PAID
    distribution.refresh_from_db()
    assert distribution.payment_failure == ""
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_CASH * UNITS_PER_CENT


def test_a_run_with_every_line_sent_asks_nothing_of_the_treasury_whose_batch_was_mined_before_it_was_read(
    closed: Closed, cast
) -> None:
    distribution = approved_distribution(closed, cast)
    assert _run(distribution).sent == 2
    (batch,) = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    outbox_flush(chain_id=batch.chain_id, sender=batch.sender)  # sent and mined; the outbox has not read it yet
    assert ChainTransaction.objects.get(pk=batch.pk).status == TxStatus.BROADCAST
    funds = payout_treasury_funds()
    assert funds is not None and funds.balance == 0  # the treasury paid the batch
    run = _run(distribution)
    distribution.refresh_from_db()
    assert (run.sent, run.refused, distribution.payment_failure) == (0, "", "")
    assert _audited(distribution, "distribution.payment_refused") == 0
    assert _settle(closed, distribution).state == DistributionState.PAID


def test_a_holder_without_a_wallet_is_held_and_paid_once_they_link_one(closed: Closed, cast) -> None:
    distribution = approved_distribution(closed, cast)
    # Bob's only wallet is removed before the payment date.
    Wallet.objects.filter(investor=closed.bob).update(removed_at=distribution.approved_at)
    run = _run(distribution)
    assert (run.sent, run.held) == (1, 1)
    assert _settle(closed, distribution).state == DistributionState.PAYING
    bob = _lines(distribution)[closed.bob.pk]
    assert bob.payment_state == LinePaymentState.HELD and bob.destination_wallet == ""
    assert _lines(distribution)[closed.alice.pk].payment_state == LinePaymentState.PAID

    Wallet.objects.create(investor=closed.bob, address=WALLETS[5], kind=WalletKind.SIGNED, linked_by=closed.bob.user)
    # The treasury spent 1.00 of Bob's cash meanwhile: his released line counts in what is still to pay.
    _treasury_spends(closed, 1_00)
    refused = _run(distribution)
    assert refused.sent == 0 and "by 1.00 USD" in refused.refused
    assert _lines(distribution)[closed.bob.pk].payment_state == LinePaymentState.HELD
    stablecoin_faucet(wallet=_treasury(), amount=1_00 * UNITS_PER_CENT, idempotency_key="top-up")
    drain()
    assert _run(distribution).sent == 1
    assert _settle(closed, distribution).state == DistributionState.PAID
    assert coin_balance(closed.rpc_url, WALLETS[5]) == BOB_CASH * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == 0
    assert coin_balance(closed.rpc_url, WALLETS[4]) == 1_00 * UNITS_PER_CENT  # what the treasury spent, only
    assert _audited(distribution, "distribution.lines_held") == 1
    assert _audited(distribution, "distribution.lines_released") == 1


def test_a_batch_the_contract_refuses_fails_its_lines_with_the_reason_and_a_retry_pays_them_once(
    closed: Closed, cast
) -> None:
    distribution = approved_distribution(closed, cast)
    assert _run(distribution).sent == 2
    with pytest.raises(Conflict):  # nothing failed yet
        distribution_failed_lines_retry(distribution=distribution, actor=cast.admin)
    _treasury_spends(closed, 1_00)  # before the batch is signed: the contract refuses it, naming the shortfall
    run = _settle(closed, distribution, failures_allowed=True)
    assert run.failed == 2 and run.state == DistributionState.PAYING
    (batch,) = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    assert batch.status == TxStatus.FAILED and batch.error_name == "TreasuryShort"
    lines = _lines(distribution)
    assert {line.payment_state for line in lines.values()} == {LinePaymentState.FAILED}
    assert "short of the" in lines[closed.alice.pk].failure_reason
    assert _run(distribution).sent == 0  # a failed line waits for a person

    stablecoin_faucet(wallet=_treasury(), amount=1_00 * UNITS_PER_CENT, idempotency_key="top-up")
    drain(failures_allowed=True)  # the failed batch stays failed
    assert distribution_failed_lines_retry(distribution=distribution, actor=cast.admin) == 2
    assert _audited(distribution, "distribution.retry_requested") == 1
    assert _run(distribution).sent == 2
    assert _settle(closed, distribution, failures_allowed=True).state == DistributionState.PAID
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_CASH * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB_CASH * UNITS_PER_CENT
    assert ChainTransaction.objects.filter(idempotency_key__contains=":pay:").count() == 2


def test_a_paid_distribution_whose_batches_are_final_is_left_alone_by_every_later_run(closed: Closed, cast) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from distributions.selectors import distributions_to_pay

    distribution = approved_distribution(closed, cast)
    _run(distribution)
    assert _settle(closed, distribution).state == DistributionState.PAID
    drain()  # the batch's confirmations
    (batch,) = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    assert batch.status == TxStatus.CONFIRMED

    assert distributions_to_pay(methods=["stablecoin"], today=distribution.payment_date) == []
    with CaptureQueriesContext(connection) as queries:
        run = _run(distribution)
    assert run.state == DistributionState.PAID and (run.sent, run.paid) == (0, 0)
    # Neither its payout events nor its paid lines are read again: the row (by the run, then its confirming step)
    # and one look for a batch not final.
    assert len(queries) <= 3, [q["sql"] for q in queries]
    assert not any("tokens_chainevent" in q["sql"] for q in queries)

    # A reorg reopening the batch makes it a distribution to look at again (test_paying_once follows it through).
    ChainTransaction.objects.filter(pk=batch.pk).update(status=TxStatus.MINED)
    assert distributions_to_pay(methods=["stablecoin"], today=distribution.payment_date) == [distribution.pk]
