"""Each request is frozen once on a real anvil, whatever happens to the freeze run: a real Celery worker SIGKILLed
in the middle of a freeze batch (before its run commits, after it signed the batch's first burner transaction,
after it sent it) and a healthy worker after it leave every request frozen exactly once, none twice, none lost."""

from __future__ import annotations

import signal

import pytest

from core.models import Notification
from redemptions.models import RedemptionRequest, RequestState
from redemptions.tests.support import requested, terms_set
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed
from tokens.models import ChainEvent, ChainTransaction, TxStatus
from tokens.services import redemption_burner_authorize
from tokens.tests.support import WALLETS, chain_indexed, contract_send, contract_view, drain, wait_until

pytestmark = [pytest.mark.chain]

# Two burner transactions of two requests each: the worker dies in the middle of the freeze.
BATCH_LINES = "2"
# (holder, wallet, quantity); a wallet has one request in flight at a time
ASKED = (("alice", 0, 50), ("bob", 2, 100), ("alice", 1, 30), ("carol", 3, 40))


def _frozen_on_chain(closed: Closed) -> list[int]:
    return [
        int(contract_view(closed.rpc_url, "SecurityToken", closed.token.address, "getFrozenTokens", WALLETS[w]))
        for _, w, _ in ASKED
    ]


def _freeze_batches() -> list[ChainTransaction]:
    return list(ChainTransaction.objects.filter(idempotency_key__contains=":freeze:").order_by("pk"))


def _worker_env(closed: Closed) -> dict[str, str]:
    return {"CHAIN_RPC_URL": closed.rpc_url, "CHAIN_ID": "31337", "REDEMPTION_FREEZE_BATCH_MAX_LINES": BATCH_LINES}


def _tick() -> None:  # what the beat schedules
    from celery import current_app as app

    for name in (
        "tokens.tasks.outbox_watch_task",
        "tokens.tasks.chain_index_task",
        "redemptions.tasks.redemptions_advance_task",
    ):
        app.send_task(name)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_point", ["redemption_freezes_queued", "after_sign", "after_broadcast"])
def test_a_worker_killed_in_the_middle_of_a_freeze_batch_leaves_each_request_frozen_once(
    closed: Closed, cast, celery_worker_process, crash_point: str
) -> None:
    # Alice (200 units in wallet 0) moves 60 to her wallet 1 and Bob (300 in wallet 2) 80 to Carol's wallet 3.
    for sender, to, units in ((0, 1, 60), (2, 3, 80)):
        moved = contract_send(
            closed.rpc_url, WALLETS[sender], closed.token.address, "SecurityToken", "transfer", WALLETS[to], units
        )
        assert moved["status"] == 1
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    terms_set(closed.offering, cast.admin)
    for _ in range(2):  # the burner is deployed, then granted the token's agent role
        redemption_burner_authorize(owner_ref=closed.offering.owner_ref)
        drain()
    # The burner may freeze the token: a worker's first signature is the freeze batch's own.
    assert redemption_burner_authorize(owner_ref=closed.offering.owner_ref).ready
    # Committed before any worker runs: their freeze run waits on the broker for the doomed worker.
    asked = [requested(closed.offering, getattr(closed, who), WALLETS[w], units) for who, w, units in ASKED]
    assert {r.state for r in asked} == {RequestState.FREEZING}

    doomed = celery_worker_process(f"doomed-{crash_point}", {**_worker_env(closed), "CHAIN_FAILPOINTS": crash_point})
    wait_until(lambda: doomed.poll() is not None, what="the worker killed", tick=_tick, timeout=120, interval=1.0)
    assert doomed.returncode == -signal.SIGKILL
    requests = RedemptionRequest.objects.filter(pk__in=[r.pk for r in asked]).order_by("pk")
    assert {r.state for r in requests} == {RequestState.FREEZING}
    batches = _freeze_batches()
    if crash_point == "redemption_freezes_queued":
        # Killed before its transaction committed: nothing was recorded, nothing sent.
        assert not batches and {r.freeze_transaction_id for r in requests} == {None}
    else:
        # Both batches were queued and each request linked to one; the first batch was signed (and maybe sent).
        assert len(batches) == 2
        assert [r.freeze_transaction_id for r in requests] == [batches[0].pk] * 2 + [batches[1].pk] * 2
        signed = [b for b in batches if b.signed_raw]
        assert signed == [batches[0]] and batches[0].status == TxStatus.SIGNED
    first_sent = crash_point == "after_broadcast"
    assert _frozen_on_chain(closed) == ([50, 100, 0, 0] if first_sent else [0, 0, 0, 0])

    celery_worker_process(f"healthy-{crash_point}", _worker_env(closed))
    wait_until(
        lambda: not RedemptionRequest.objects.filter(state=RequestState.FREEZING).exists(),
        what="every request frozen",
        tick=_tick,
        timeout=150,
        interval=1.0,
    )

    # None lost: every request is pending, carried by one of the two batches, both confirmed.
    requests = RedemptionRequest.objects.filter(pk__in=[r.pk for r in asked]).order_by("pk")
    assert {r.state for r in requests} == {RequestState.PENDING}
    batches = _freeze_batches()
    assert len(batches) == 2 and {b.status for b in batches} == {TxStatus.CONFIRMED}
    assert [r.freeze_transaction_id for r in requests] == [batches[0].pk] * 2 + [batches[1].pk] * 2
    # None twice: the token froze each request's units once, and the burner decided each request once.
    assert _frozen_on_chain(closed) == [units for _, _, units in ASKED]
    assert sorted(int(e.args["request"]) for e in ChainEvent.objects.filter(name="RequestFrozen")) == sorted(
        r.pk for r in asked
    )
    assert not ChainEvent.objects.filter(name__in=("FreezeSkipped", "FreezeRefused")).exists()
    # Each holder was told once of each request frozen.
    told = Notification.objects.filter(event_key__startswith="redemption:").values_list("event_key", flat=True)
    assert sorted(told) == sorted(f"redemption:{r.pk}:{RequestState.PENDING}" for r in asked)
