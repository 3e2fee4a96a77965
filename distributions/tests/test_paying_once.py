"""Each holder is paid exactly once on a real anvil, whatever happens to the payment run: a real Celery worker
SIGKILLed in the middle of it, the same task delivered twice to two workers, a reorg deeper than the
finality rule dropping the block that paid the batch."""

from __future__ import annotations

import signal

import pytest
from django.test import override_settings

from core.models import NotificationKind
from core.tests.support import told_once
from distributions.models import Distribution, DistributionLine, DistributionState, LinePaymentState
from distributions.services.paying import distribution_pay_on_chain
from distributions.tests.paying import ALICE_CASH, BOB_CASH, UNITS_PER_CENT, approved_distribution
from registry.tests.conftest import Closed
from tokens.models import ChainEvent, ChainReorg, ChainTransaction, TxStatus
from tokens.selectors import distribution_payout_events
from tokens.tests.support import WALLETS, Chain, chain_indexed, coin_balance, outbox_flush, outbox_watch, wait_until

pytestmark = [pytest.mark.chain]


def _paid_once(closed: Closed, distribution: Distribution) -> None:
    """Both holders got their cash, once; one LinePaid event per line; every line paid with its transaction."""
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_CASH * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB_CASH * UNITS_PER_CENT
    paid = distribution_payout_events(distribution_ref=str(distribution.public_id))
    assert sorted(int(e.args["line"]) for e in paid) == [0, 1]
    lines = DistributionLine.objects.filter(distribution=distribution)
    assert {(line.payment_state, bool(line.payment_reference)) for line in lines} == {(LinePaymentState.PAID, True)}
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAID


def _worker_env(closed: Closed) -> dict[str, str]:
    return {"CHAIN_RPC_URL": closed.rpc_url, "CHAIN_ID": "31337"}


def _until_paid(distribution: Distribution) -> None:
    from celery import current_app as app

    def tick() -> None:  # what the beat schedules
        for name in (
            "tokens.tasks.outbox_watch_task",
            "tokens.tasks.chain_index_task",
            "distributions.tasks.distributions_advance_task",
        ):
            app.send_task(name)

    wait_until(
        lambda: Distribution.objects.get(pk=distribution.pk).state == DistributionState.PAID,
        what="the distribution paid",
        tick=tick,
        timeout=120,
        interval=1.0,
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_point", ["distribution_batches_queued", "after_sign", "after_broadcast"])
def test_a_worker_killed_in_the_middle_of_a_payment_leaves_each_holder_paid_once(
    closed: Closed, cast, celery_worker_process, crash_point: str
) -> None:
    distribution = approved_distribution(closed, cast)
    from distributions.tasks import distribution_pay_task

    doomed = celery_worker_process(f"doomed-{crash_point}", {**_worker_env(closed), "CHAIN_FAILPOINTS": crash_point})
    distribution_pay_task.delay(distribution.pk)
    doomed.wait(timeout=90)
    assert doomed.returncode == -signal.SIGKILL
    lines = DistributionLine.objects.filter(distribution=distribution)
    batches = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
    if crash_point == "distribution_batches_queued":
        # Killed before its transaction committed: nothing was recorded, nothing sent.
        assert {line.payment_state for line in lines} == {LinePaymentState.PENDING} and not batches.exists()
    else:
        (batch,) = batches
        assert batch.status == TxStatus.SIGNED and batch.signed_raw
        assert {line.payment_state for line in lines} == {LinePaymentState.SENDING}
    assert coin_balance(closed.rpc_url, WALLETS[0]) == (
        ALICE_CASH * UNITS_PER_CENT if crash_point == "after_broadcast" else 0
    )

    celery_worker_process(f"healthy-{crash_point}", _worker_env(closed))
    _until_paid(distribution)
    _paid_once(closed, distribution)
    assert batches.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_payment_task_delivered_twice_to_two_workers_pays_each_holder_once(
    closed: Closed, cast, celery_worker_process
) -> None:
    distribution = approved_distribution(closed, cast)
    from distributions.tasks import distribution_pay_task

    celery_worker_process("pay-a", _worker_env(closed))
    celery_worker_process("pay-b", _worker_env(closed))
    for _ in range(4):
        distribution_pay_task.delay(distribution.pk)
    _until_paid(distribution)
    _paid_once(closed, distribution)
    assert ChainTransaction.objects.filter(idempotency_key__contains=":pay:").count() == 1
    assert distribution.payment_round == 1


@pytest.mark.django_db
def test_a_reorg_past_finality_dropping_the_paying_block_sends_the_batch_again_and_pays_each_holder_once(
    closed: Closed, cast
) -> None:
    distribution = approved_distribution(closed, cast)
    chain = Chain(rpc_url=closed.rpc_url)
    chain.rpc("anvil_mine", [3])  # the reorg below drops only blocks of the payment

    def run() -> None:
        distribution_pay_on_chain(distribution_id=distribution.pk, today=distribution.payment_date)

    with override_settings(CHAIN_CONFIRMATIONS=2):
        run()
        (batch,) = ChainTransaction.objects.filter(idempotency_key__contains=":pay:")
        outbox_flush(chain_id=31337, sender=batch.sender)
        chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        chain_indexed(closed.rpc_url, confirmations=2)
        run()
        _paid_once(closed, distribution)
        first_hash = ChainTransaction.objects.get(pk=batch.pk).tx_hash

        chain.rpc("anvil_reorg", [3, []])  # drops the batch's block and the two on top: past finality
        assert coin_balance(closed.rpc_url, WALLETS[0]) == 0
        chain_indexed(closed.rpc_url, confirmations=2)
        assert ChainReorg.objects.exists() and not ChainEvent.objects.filter(name="LinePaid").exists()
        from distributions.selectors import distributions_to_pay

        assert distributions_to_pay(methods=["stablecoin"], today=distribution.payment_date) == [distribution.pk]
        run()  # the lines go back to sending; the distribution is paying again
        distribution.refresh_from_db()
        assert distribution.state == DistributionState.PAYING
        lines = DistributionLine.objects.filter(distribution=distribution)
        assert {(line.payment_state, line.payment_reference) for line in lines} == {(LinePaymentState.SENDING, "")}

        for _ in range(4):
            outbox_watch(chain_id=31337)  # sends the same signed bytes again
            chain.rpc("anvil_mine", [2])
        chain_indexed(closed.rpc_url, confirmations=2)
        run()
    _paid_once(closed, distribution)
    assert ChainTransaction.objects.get(pk=batch.pk).tx_hash == first_hash  # the same signed bytes, mined again
    assert ChainTransaction.objects.filter(idempotency_key__contains=":pay:").count() == 1
    # Paid, unpaid by the reorg, paid again: each holder is told of the payment once, with its figures.
    for line in DistributionLine.objects.filter(distribution=distribution).select_related("investor__user"):
        notice = told_once(line.investor.user, NotificationKind.DISTRIBUTION_PAID)
        assert "is paid" in notice.subject and line.destination_wallet in notice.body
