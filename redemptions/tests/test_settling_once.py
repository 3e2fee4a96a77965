"""Each request is burned once and paid once on a real anvil, whatever happens to the settling run: a real Celery
worker SIGKILLed in the middle of it, the same task delivered twice to two workers, a node that forgot the
transactions it was sent (a restart), and a burn batch sent again under another key."""

from __future__ import annotations

import datetime as dt
import signal

import pytest
from django.utils import timezone

from core.approvals import approval_approve
from core.models import Notification
from distributions.tests.support import second_admin
from redemptions.models import DealingDay, DealingState, RedemptionRequest, RequestState
from redemptions.services.approval import dealing_day_propose
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.services.settling import dealing_day_settle, dealing_ref
from redemptions.tests.support import requested, settled_on_chain, terms_set
from registry.tests.conftest import Closed
from tokens.models import ChainEvent, ChainTransaction, TxStatus
from tokens.services import BurnLine, redemption_batch_burn, redemption_burner_authorize
from tokens.tests.support import (
    WALLETS,
    Chain,
    coin_balance,
    drain,
    outbox_flush,
    outbox_watch,
    payout_ready,
    token_balance,
    wait_until,
)

pytestmark = [pytest.mark.chain]
UNITS_PER_CENT = 10_000
ALICE_NET, BOB_NET = 153_13, 102_08  # 150 and 100 units at 1.02345678 USD, less 25 bps


def _priced(closed: Closed, cast) -> DealingDay:
    """Alice asked for 150 units and Bob for 100; frozen, cut off, priced; the burner may burn the token and the
    treasury holds the net (all set up here, so a worker's first signature is the dealing day's own)."""
    payout_ready(treasury_units=1_000_00 * UNITS_PER_CENT)
    terms_set(closed.offering, cast.admin)
    alice = requested(closed.offering, closed.alice, WALLETS[0], 150)
    requested(closed.offering, closed.bob, WALLETS[2], 100)
    settled_on_chain(closed)
    redemption_burner_authorize(owner_ref=closed.offering.owner_ref)
    drain()
    assert redemption_burner_authorize(owner_ref=closed.offering.owner_ref).ready
    DealingDay.objects.filter(pk=alice.dealing_day_id).update(cutoff_at=timezone.now() - dt.timedelta(seconds=1))
    day = DealingDay.objects.get(pk=alice.dealing_day_id)
    dealing_day_nav_enter(day=day, actor=cast.admin, nav="1.02345678", source="NAV statement of the day")
    day = dealing_day_price(day_id=day.pk)
    assert day.state == DealingState.PRICED
    return day


def _approved(cast, day: DealingDay) -> DealingDay:
    outcome = dealing_day_propose(day=day, actor=cast.admin)
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second_admin(cast.issuer))
    day.refresh_from_db()
    return day


def _burned_and_paid_once(closed: Closed, day: DealingDay) -> None:
    assert token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 50
    assert token_balance(closed.rpc_url, closed.token, WALLETS[2]) == 200
    assert coin_balance(closed.rpc_url, WALLETS[0]) == ALICE_NET * UNITS_PER_CENT
    assert coin_balance(closed.rpc_url, WALLETS[2]) == BOB_NET * UNITS_PER_CENT
    assert sorted(int(e.args["line"]) for e in ChainEvent.objects.filter(name="LineRedeemed")) == [0, 1]
    assert sorted(int(e.args["line"]) for e in ChainEvent.objects.filter(name="LinePaid")) == [0, 1]
    assert {r.state for r in RedemptionRequest.objects.filter(dealing_day=day)} == {RequestState.PAID}
    day.refresh_from_db()
    assert day.state == DealingState.SETTLED
    # Each holder was told each step once, however the runs were killed, repeated or duplicated.
    for request in RedemptionRequest.objects.filter(dealing_day=day).select_related("investor__user"):
        steps = Notification.objects.filter(recipient=request.investor.user, event_key__startswith="redemption:")
        assert sorted(k.rsplit(":", 1)[1] for k in steps.values_list("event_key", flat=True)) == [
            "burned",
            "paid",
            "pending",
            "priced",
        ]


def _batches(step: str) -> list[ChainTransaction]:
    return list(
        ChainTransaction.objects.filter(idempotency_key__startswith="redemption:", idempotency_key__contains=step)
    )


def _worker_env(closed: Closed) -> dict[str, str]:
    return {"CHAIN_RPC_URL": closed.rpc_url, "CHAIN_ID": "31337"}


def _tick() -> None:  # what the beat schedules
    from celery import current_app as app

    for name in (
        "tokens.tasks.outbox_watch_task",
        "tokens.tasks.chain_index_task",
        "redemptions.tasks.redemptions_advance_task",
    ):
        app.send_task(name)


def _until_settled(day: DealingDay) -> None:
    wait_until(
        lambda: DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED,
        what="the dealing day settled",
        tick=_tick,
        timeout=150,
        interval=1.0,
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "crash_point", ["redemption_burns_queued", "after_sign", "after_broadcast", "redemption_payouts_queued"]
)
def test_a_worker_killed_in_the_middle_of_settling_leaves_each_request_burned_and_paid_once(
    closed: Closed, cast, celery_worker_process, crash_point: str
) -> None:
    day = _priced(closed, cast)
    doomed = celery_worker_process(f"doomed-{crash_point}", {**_worker_env(closed), "CHAIN_FAILPOINTS": crash_point})
    _approved(cast, day)  # queues the settling run after commit; the doomed worker takes it
    wait_until(lambda: doomed.poll() is not None, what="the worker killed", tick=_tick, timeout=120, interval=1.0)
    assert doomed.returncode == -signal.SIGKILL
    lines = RedemptionRequest.objects.filter(dealing_day=day)
    if crash_point == "redemption_burns_queued":
        # Killed before its transaction committed: nothing was recorded, nothing sent.
        assert not _batches(":burn:") and {r.burn_transaction_id for r in lines} == {None}
    elif crash_point in ("after_sign", "after_broadcast"):
        (batch,) = _batches(":burn:")
        assert batch.status == TxStatus.SIGNED and batch.signed_raw
        assert {r.burn_transaction_id for r in lines} == {batch.pk}
    else:
        assert {r.state for r in lines} == {RequestState.BURNED} and not _batches(":pay:")
    burned_before = token_balance(closed.rpc_url, closed.token, WALLETS[0]) == 50
    assert burned_before == (crash_point in ("after_broadcast", "redemption_payouts_queued"))

    celery_worker_process(f"healthy-{crash_point}", _worker_env(closed))
    _until_settled(day)
    _burned_and_paid_once(closed, day)
    assert len(_batches(":burn:")) == 1 and len(_batches(":pay:")) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_settling_task_delivered_twice_to_two_workers_burns_and_pays_each_request_once(
    closed: Closed, cast, celery_worker_process
) -> None:
    day = _priced(closed, cast)
    from redemptions.tasks import dealing_day_settle_task

    celery_worker_process("settle-a", _worker_env(closed))
    celery_worker_process("settle-b", _worker_env(closed))
    _approved(cast, day)
    for _ in range(4):
        dealing_day_settle_task.delay(day.pk)
    _until_settled(day)
    _burned_and_paid_once(closed, day)
    day.refresh_from_db()
    assert (day.burn_round, day.payment_round) == (1, 1)
    assert len(_batches(":burn:")) == 1 and len(_batches(":pay:")) == 1


@pytest.mark.django_db
def test_a_node_that_forgot_the_burn_it_was_sent_gets_the_same_bytes_again_and_burns_once(closed: Closed, cast) -> None:
    day = _approved(cast, _priced(closed, cast))
    chain = Chain(rpc_url=closed.rpc_url)
    dealing_day_settle(day_id=day.pk)
    (batch,) = _batches(":burn:")
    chain.rpc("evm_setAutomine", [False])
    try:
        outbox_flush(chain_id=31337, sender=batch.sender)  # signed, stored, sent: the node holds it unmined
        batch.refresh_from_db()
        assert batch.status == TxStatus.BROADCAST
        chain.rpc("anvil_dropAllTransactions")  # the node restarted without its pool
    finally:
        chain.rpc("evm_setAutomine", [True])
    signed = bytes(batch.signed_raw or b"")
    outbox_watch(chain_id=31337)  # not known to the node any more: the same signed bytes again
    for _ in range(10):
        settled_on_chain(closed)
        dealing_day_settle(day_id=day.pk)
        if DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED:
            break
    _burned_and_paid_once(closed, day)
    batch.refresh_from_db()
    assert bytes(batch.signed_raw or b"") == signed and len(_batches(":burn:")) == 1


@pytest.mark.django_db
def test_a_burn_batch_sent_again_under_another_key_burns_nothing_twice(closed: Closed, cast) -> None:
    day = _approved(cast, _priced(closed, cast))
    for _ in range(10):
        dealing_day_settle(day_id=day.pk)
        settled_on_chain(closed)
        if DealingDay.objects.get(pk=day.pk).state == DealingState.SETTLED:
            break
    lines = RedemptionRequest.objects.filter(dealing_day=day).order_by("line_index")
    redemption_batch_burn(
        key="a-second-request-by-mistake",
        owner_ref=closed.offering.owner_ref,
        dealing_ref=dealing_ref(day),
        lines=[BurnLine(index=r.line_index or 0, holder=r.wallet, amount=r.accepted_units) for r in lines],
    )
    settled_on_chain(closed)
    assert ChainEvent.objects.filter(name="RedemptionSkipped").count() == 2
    _burned_and_paid_once(closed, day)
