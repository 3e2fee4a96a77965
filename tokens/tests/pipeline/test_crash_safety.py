"""Workers killed mid-flight and a node restarted: the effect still happens exactly once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from django.test import override_settings

from tokens.chain.anvil import Anvil
from tokens.chain.client import NodeUnavailable, client_for
from tokens.models import ChainTransaction, TxStatus
from tokens.outbox import outbox_flush
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain, chain_build, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.chain]


@pytest.mark.parametrize("crash_point", ["after_sign", "after_broadcast"])
def test_a_worker_killed_mid_transaction_leaves_one_effect(
    committed_chain: Chain, celery_worker_process, crash_point: str
) -> None:
    env = {"CHAIN_RPC_URL": committed_chain.rpc_url, "CHAIN_ID": "31337"}
    doomed = celery_worker_process(f"doomed-{crash_point}", {**env, "CHAIN_FAILPOINTS": crash_point})
    tx = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=1000, idempotency_key=f"crash-{crash_point}")
    doomed.wait(timeout=60)
    assert doomed.returncode == -signal.SIGKILL
    tx.refresh_from_db()
    assert tx.status == TxStatus.SIGNED and tx.signed_raw and tx.tx_hash  # stored before any broadcast
    expected_before = 0 if crash_point == "after_sign" else 1000
    assert committed_chain.balance(WALLETS[0]) == expected_before

    healthy = celery_worker_process(f"healthy-{crash_point}", env)
    from tokens.tasks import outbox_watch_task

    # The beat's watcher, every second: it sends again what was signed and not sent once the row is five seconds
    # old (a worker may still be about to send it before then).
    wait_until(
        lambda: ChainTransaction.objects.get(pk=tx.pk).status == TxStatus.CONFIRMED,
        what="confirmation",
        tick=outbox_watch_task.delay,
        interval=1.0,
    )
    outbox_watch_task.delay()  # and once more for good measure: nothing new may happen
    time.sleep(1)
    assert healthy.poll() is None
    assert committed_chain.balance(WALLETS[0]) == 1000
    assert ChainTransaction.objects.get(pk=tx.pk).nonce == tx.nonce


def _nothing_half_done(prefix: str) -> None:
    """What a stopped worker may leave: rows not yet signed, or signed bytes stored with their hash (sent or
    not); never a nonce without its signed bytes, nor signed bytes without their nonce."""
    for tx in ChainTransaction.objects.filter(idempotency_key__startswith=prefix):
        if tx.status == TxStatus.PENDING:
            assert tx.nonce is None and tx.signed_raw is None and tx.tx_hash is None
        else:
            assert tx.nonce is not None and tx.signed_raw and tx.tx_hash


def _settled_once(chain: Chain, prefix: str, count: int) -> None:
    from tokens.tasks import outbox_watch_task

    def all_confirmed() -> bool:
        outbox_watch_task.delay()
        rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
        return rows.count() == count and not rows.exclude(status=TxStatus.CONFIRMED).exists()

    wait_until(all_confirmed, timeout=120, interval=0.3, what=f"every {prefix} mint confirmed")
    assert chain.balance(WALLETS[3]) == sum(range(1, count + 1))  # each mint once
    rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
    nonces = sorted(int(n) for n in rows.values_list("nonce", flat=True) if n is not None)
    assert nonces == list(range(nonces[0], nonces[0] + count))  # no nonce used twice, none skipped


@pytest.mark.parametrize("stop", ["warm", "sigkill"])
def test_a_worker_stopped_in_the_middle_of_signing_a_queue_leaves_nothing_half_done(
    committed_chain: Chain, celery_worker_process, stop: str
) -> None:
    from tokens.services import registry_investor_sync
    from tokens.tests.support import in_a_year

    registry_investor_sync(
        investor_ref="carol", country_numeric=840, flags=1, expires_at=in_a_year(), wallets=[WALLETS[3]]
    )
    committed_chain.drain()
    env = {"CHAIN_RPC_URL": committed_chain.rpc_url, "CHAIN_ID": "31337"}
    count = 40
    for i in range(count):  # queued before the worker starts: it finds a queue of flushes and rows
        token_mint(owner_ref="offering:1", wallet=WALLETS[3], amount=i + 1, idempotency_key=f"stop-{stop}-{i}")
    doomed = celery_worker_process(f"stopped-{stop}", env)
    rows = ChainTransaction.objects.filter(idempotency_key__startswith=f"stop-{stop}-")
    wait_until(lambda: rows.exclude(status=TxStatus.PENDING).exists(), what="the first row signed", interval=0.05)
    doomed.send_signal(signal.SIGTERM if stop == "warm" else signal.SIGKILL)
    doomed.wait(timeout=60)
    if stop == "warm":
        # Warm shutdown: the task under way runs to its end (acks_late: what it had not started stays queued).
        assert doomed.returncode == 0
        assert not rows.filter(status=TxStatus.SIGNED).exists()  # whatever it signed it also sent
    else:
        assert doomed.returncode == -signal.SIGKILL
    _nothing_half_done(f"stop-{stop}-")

    celery_worker_process(f"after-{stop}", env)
    _settled_once(committed_chain, f"stop-{stop}-", count)


def test_two_workers_racing_the_same_rows_send_each_once(committed_chain: Chain, celery_worker_process) -> None:
    env = {"CHAIN_RPC_URL": committed_chain.rpc_url, "CHAIN_ID": "31337"}
    celery_worker_process("race-a", env)
    celery_worker_process("race-b", env)
    from tokens.tasks import outbox_flush_task

    for i in range(20):
        tx = token_mint(owner_ref="offering:1", wallet=WALLETS[i % 3], amount=i + 1, idempotency_key=f"race-{i}")
    for _ in range(6):  # duplicate deliveries of the same flush to both workers
        outbox_flush_task.delay(tx.chain_id, tx.sender)
    from tokens.tasks import outbox_watch_task

    def all_confirmed() -> bool:
        outbox_watch_task.delay()
        return (
            not ChainTransaction.objects.filter(idempotency_key__startswith="race-")
            .exclude(status=TxStatus.CONFIRMED)
            .exists()
        )

    wait_until(all_confirmed, timeout=90, interval=0.2, what="all race mints confirmed")
    expected = {0: 0, 1: 0, 2: 0}
    for i in range(20):
        expected[i % 3] += i + 1
    assert [committed_chain.balance(WALLETS[k]) for k in range(3)] == [expected[0], expected[1], expected[2]]
    nonces = list(ChainTransaction.objects.values_list("nonce", flat=True))
    assert len(nonces) == len(set(nonces))


def test_a_node_restarted_from_its_state_file_loses_nothing(tmp_path: Path, transactional_db: None) -> None:
    state = tmp_path / "anvil-state.json"
    node = Anvil(state_path=state).start()
    try:
        with override_settings(CHAIN_RPC_URL=node.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1):
            chain = chain_build(node.rpc_url)
            token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=5, idempotency_key="before-stop")
            chain.drain()
            node.rpc("evm_setAutomine", [False])
            pending = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=6, idempotency_key="in-mempool")
            outbox_flush(chain_id=31337, sender=pending.sender)  # broadcast, not mined
            node.stop()  # the state file keeps the chain, not the mempool
            later = token_mint(owner_ref="offering:1", wallet=WALLETS[2], amount=7, idempotency_key="while-down")
            with pytest.raises(NodeUnavailable):  # the task retries later; nothing is signed meanwhile
                outbox_flush(chain_id=31337, sender=later.sender)
            later.refresh_from_db()
            assert later.status == TxStatus.PENDING and later.nonce is None
            node.start()
            client_for.cache_clear()
            chain.drain()
            assert [chain.balance(WALLETS[k]) for k in range(3)] == [5, 6, 7]
            assert (
                ChainTransaction.objects.filter(status=TxStatus.CONFIRMED).count() == ChainTransaction.objects.count()
            )
    finally:
        node.stop()
