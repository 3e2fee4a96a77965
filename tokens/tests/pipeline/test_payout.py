"""Distribution payouts through the outbox on a real anvil: each line is paid exactly once when the
same batch is asked for twice, when it is signed again after its worker died, when the node
restarts, and when a reorg drops the block that paid it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from core.errors import ApplicationError, Conflict
from tokens.chain.anvil import Anvil
from tokens.chain.client import client_for
from tokens.models import ChainReorg, ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.payout import (
    PayoutLine,
    distribution_batch_pay,
    distribution_line_payments,
    distribution_lines_paid,
    distribution_payout_events,
    payout_allowance_ensure,
    payout_contract_deploy,
    payout_treasury,
    payout_treasury_funds,
)
from tokens.services import transaction_retry
from tokens.tests.support import (
    Chain,
    address_for,
    chain_build,
    chain_indexed,
    coin_balance,
    drain,
    payout_ready,
    stablecoin_deploy,
    stablecoin_faucet,
    wait_until,
)

pytestmark = [pytest.mark.chain]

TREASURY_UNITS = 10_000_000_000  # 10,000.000000


def register(n: int, *, amount: int = 1_000_000, label: str = "holder") -> list[PayoutLine]:
    return [PayoutLine(index=i, payee=address_for(f"{label}-{i}"), amount=amount + i) for i in range(n)]


def balances(rpc_url: str, lines: list[PayoutLine]) -> list[int]:
    return [coin_balance(rpc_url, line.payee) for line in lines]


def expected(lines: list[PayoutLine]) -> list[int]:
    return [line.amount for line in lines]


def test_the_same_payout_asked_twice_is_one_transaction_per_batch_and_pays_each_line_once(chain: Chain) -> None:
    payout_ready(treasury_units=TREASURY_UNITS)
    lines = register(5)
    with override_settings(PAYOUT_BATCH_MAX_LINES=2):
        first = distribution_batch_pay(key="dist-7:pay", distribution_ref="dist-7", lines=lines)
        again = distribution_batch_pay(key="dist-7:pay", distribution_ref="dist-7", lines=list(reversed(lines)))
        assert [tx.idempotency_key for tx in first] == ["dist-7:pay:0", "dist-7:pay:1", "dist-7:pay:2"]
        assert [tx.pk for tx in again] == [tx.pk for tx in first]
        with pytest.raises(ApplicationError) as refused:
            distribution_batch_pay(key="dist-7:pay", distribution_ref="dist-7", lines=register(5, amount=2))
        assert refused.value.code == "idempotency_conflict"
    drain()
    assert balances(chain.rpc_url, lines) == expected(lines)
    assert distribution_lines_paid(distribution_ref="dist-7", indices=range(7)) == {0, 1, 2, 3, 4}
    assert distribution_lines_paid(distribution_ref="dist-8", indices=range(7)) == set()
    chain_indexed(chain.rpc_url)
    hashes = {tx.pk: tx.tx_hash for tx in ChainTransaction.objects.filter(pk__in=[tx.pk for tx in first])}
    assert distribution_line_payments(distribution_ref="dist-7") == {
        0: hashes[first[0].pk],
        1: hashes[first[0].pk],
        2: hashes[first[1].pk],
        3: hashes[first[1].pk],
        4: hashes[first[2].pk],
    }
    funds = payout_treasury_funds()
    assert funds is not None and funds.balance == TREASURY_UNITS - sum(expected(lines))


def test_a_duplicate_task_under_another_key_pays_nothing_twice(chain: Chain) -> None:
    payout_ready(treasury_units=TREASURY_UNITS)
    lines = register(4)
    # The payment task delivered twice, each delivery naming its batches afresh; both are queued before either is sent.
    a = distribution_batch_pay(key="delivery-1", distribution_ref="dist-9", lines=lines)
    b = distribution_batch_pay(key="delivery-2", distribution_ref="dist-9", lines=lines[1:])
    drain()
    assert {tx.status for tx in ChainTransaction.objects.filter(pk__in=[a[0].pk, b[0].pk])} == {TxStatus.CONFIRMED}
    assert balances(chain.rpc_url, lines) == expected(lines)
    chain_indexed(chain.rpc_url)
    paid = distribution_payout_events(distribution_ref="dist-9")
    assert sorted(int(e.args["line"]) for e in paid) == [0, 1, 2, 3]
    skipped = distribution_payout_events(distribution_ref="dist-9", names=["LineSkipped"])
    assert sorted(int(e.args["line"]) for e in skipped) == [1, 2, 3]
    assert {e.transaction_hash for e in skipped} == {ChainTransaction.objects.get(pk=b[0].pk).tx_hash}


def test_paid_lines_are_read_from_the_contract_at_the_final_block(chain: Chain) -> None:
    payout_ready(treasury_units=TREASURY_UNITS)
    far_apart = [PayoutLine(index=i, payee=address_for(f"far-{i}"), amount=10) for i in (0, 300, 70_000)]
    with override_settings(CHAIN_CONFIRMATIONS=3):
        (batch,) = distribution_batch_pay(key="far", distribution_ref="dist-f", lines=far_apart)
        outbox_flush(chain_id=31337, sender=batch.sender)
        asked = [0, 1, 299, 300, 301, 70_000, 70_001, 2**40]
        assert distribution_lines_paid(distribution_ref="dist-f", indices=asked, final=False) == {0, 300, 70_000}
        assert distribution_lines_paid(distribution_ref="dist-f", indices=asked) == set()  # mined, not final yet
        chain.rpc("anvil_mine", [2])
        assert distribution_lines_paid(distribution_ref="dist-f", indices=asked) == {0, 300, 70_000}


def test_a_short_treasury_fails_the_batch_with_its_shortfall_and_a_retry_pays_once_funded(chain: Chain) -> None:
    payout_ready(treasury_units=1_000_000)
    lines = [PayoutLine(index=0, payee=address_for("big"), amount=1_500_000)]
    (tx,) = distribution_batch_pay(key="short-1", distribution_ref="dist-s", lines=lines)
    drain(failures_allowed=True)
    tx.refresh_from_db()
    assert tx.status == TxStatus.FAILED
    assert tx.error_name == "TreasuryShort"
    assert tx.error_args == {"treasury": payout_treasury(), "balance": "1000000", "needed": "1500000"}
    assert balances(chain.rpc_url, lines) == [0]

    stablecoin_faucet(wallet=payout_treasury(), amount=500_000, idempotency_key="top-up")
    drain(failures_allowed=True)
    transaction_retry(tx=tx, actor=None)
    drain()
    assert balances(chain.rpc_url, lines) == [1_500_000]
    funds = payout_treasury_funds()
    assert funds is not None and funds.balance == 0


def test_the_contract_is_deployed_once_and_the_treasury_approves_it_once(chain: Chain) -> None:
    payout = payout_ready(treasury_units=0)
    with pytest.raises(Conflict):
        payout_contract_deploy()
    assert payout_allowance_ensure() is None  # approved already
    approvals = ChainTransaction.objects.filter(idempotency_key__contains=":approve:")
    assert approvals.count() == 1 and approvals.get().sender == payout_treasury()
    funds = payout_treasury_funds()
    assert funds is not None and funds.allowance == 2**256 - 1
    assert payout.address and payout.kind == ContractKind.DISTRIBUTION_PAYOUT


def test_the_deploy_command_deploys_the_payout_contract_and_has_the_treasury_approve_it(chain: Chain, capsys) -> None:
    with pytest.raises(CommandError, match="No stablecoin"):
        call_command("chain_deploy", "payout")
    stablecoin_deploy()
    drain()
    call_command("chain_deploy", "payout", "--wait")
    out = capsys.readouterr().out
    assert "Deployed at" in out and "The treasury approved the payout contract" in out
    funds = payout_treasury_funds()
    assert funds is not None and funds.allowance == 2**256 - 1
    with pytest.raises(CommandError, match="already deployed"):
        call_command("chain_deploy", "payout")


def test_a_reorg_that_drops_the_paying_block_pays_each_line_once_when_the_batch_lands_again(chain: Chain) -> None:
    payout_ready(treasury_units=TREASURY_UNITS)
    lines = register(3)
    with override_settings(CHAIN_CONFIRMATIONS=2):
        (first,) = distribution_batch_pay(key="reorg-1", distribution_ref="dist-r", lines=lines)
        outbox_flush(chain_id=31337, sender=first.sender)
        (dup,) = distribution_batch_pay(key="reorg-2", distribution_ref="dist-r", lines=lines)
        outbox_flush(chain_id=31337, sender=dup.sender)
        chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        chain_indexed(chain.rpc_url, confirmations=2)
        assert ChainTransaction.objects.get(pk=first.pk).status == TxStatus.CONFIRMED
        assert distribution_lines_paid(distribution_ref="dist-r", indices=range(3)) == {0, 1, 2}

        chain.rpc("anvil_reorg", [4, []])  # drops both batches' blocks, past the finality rule
        assert balances(chain.rpc_url, lines) == [0, 0, 0]
        chain_indexed(chain.rpc_url, confirmations=2)
        assert ChainReorg.objects.get().transactions_reopened >= 1
        assert not distribution_payout_events(distribution_ref="dist-r").exists()

        for _ in range(4):
            outbox_watch(chain_id=31337)  # sends the same signed bytes again
            chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        chain_indexed(chain.rpc_url, confirmations=2)
        assert distribution_lines_paid(distribution_ref="dist-r", indices=range(3)) == {0, 1, 2}
    assert {ChainTransaction.objects.get(pk=pk).status for pk in (first.pk, dup.pk)} == {TxStatus.CONFIRMED}
    assert balances(chain.rpc_url, lines) == expected(lines)
    assert sorted(int(e.args["line"]) for e in distribution_payout_events(distribution_ref="dist-r")) == [0, 1, 2]


def test_asking_to_pay_bad_lines_is_refused_and_records_nothing(db: None) -> None:
    good = PayoutLine(index=0, payee=address_for("ok"), amount=1)
    with pytest.raises(ApplicationError) as missing:
        distribution_batch_pay(key="k", distribution_ref="d", lines=[good])
    assert missing.value.code == "no_payout_contract"
    ContractDeployment.objects.create(
        chain_id=31337, kind=ContractKind.DISTRIBUTION_PAYOUT, owner_ref="portal", address=address_for("payout")
    )
    cases = [
        ([], "empty_batch"),
        ([good, PayoutLine(index=0, payee=address_for("other"), amount=2)], "duplicate_line"),
        ([PayoutLine(index=-1, payee=good.payee, amount=1)], "invalid_line"),
        ([PayoutLine(index=2**64, payee=good.payee, amount=1)], "invalid_line"),
        ([PayoutLine(index=True, payee=good.payee, amount=1)], "invalid_line"),
        ([PayoutLine(index=1, payee="0x123", amount=1)], "invalid_address"),
        ([PayoutLine(index=1, payee="0x" + "0" * 40, amount=1)], "invalid_address"),
        ([PayoutLine(index=1, payee=good.payee, amount=0)], "invalid_amount"),
        ([PayoutLine(index=1, payee=good.payee, amount=-5)], "invalid_amount"),
        ([PayoutLine(index=1, payee=good.payee, amount=1.5)], "invalid_amount"),  # type: ignore[arg-type]
        ([PayoutLine(index=1, payee=good.payee, amount=2**128)], "invalid_amount"),
    ]
    for lines, code in cases:
        with pytest.raises(ApplicationError) as refused:
            distribution_batch_pay(key="k", distribution_ref="d", lines=lines)
        assert refused.value.code == code, (lines, refused.value)
    for key, ref in (("", "d"), ("k" * 181, "d"), ("k", "")):
        with pytest.raises(ApplicationError):
            distribution_batch_pay(key=key, distribution_ref=ref, lines=[good])
    assert not ChainTransaction.objects.exists()


def test_a_node_restarted_from_its_state_file_pays_each_line_once(tmp_path: Path, transactional_db: None) -> None:
    node = Anvil(state_path=tmp_path / "anvil-state.json").start()
    try:
        with override_settings(CHAIN_RPC_URL=node.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1):
            client_for.cache_clear()
            chain_build(node.rpc_url)
            payout_ready(treasury_units=TREASURY_UNITS)
            lines = register(3)
            node.rpc("evm_setAutomine", [False])
            (batch,) = distribution_batch_pay(key="restart-1", distribution_ref="dist-n", lines=lines)
            outbox_flush(chain_id=31337, sender=batch.sender)  # broadcast, not mined
            node.stop()  # the state file keeps the chain, not the mempool
            # While the node is down the payment task runs again and asks under a new key.
            distribution_batch_pay(key="restart-2", distribution_ref="dist-n", lines=lines)
            node.start()
            client_for.cache_clear()
            drain()
            assert balances(node.rpc_url, lines) == expected(lines)
            assert distribution_lines_paid(distribution_ref="dist-n", indices=range(3)) == {0, 1, 2}
    finally:
        node.stop()
        client_for.cache_clear()


@pytest.mark.worker
def test_a_batch_signed_again_after_its_worker_died_before_sending_pays_once(
    committed_chain: Chain, celery_worker_process
) -> None:
    payout_ready(treasury_units=TREASURY_UNITS)
    lines = register(3)
    env = {"CHAIN_RPC_URL": committed_chain.rpc_url, "CHAIN_ID": "31337"}
    doomed = celery_worker_process("doomed-payout", {**env, "CHAIN_FAILPOINTS": "after_sign"})
    (batch,) = distribution_batch_pay(key="crash-1", distribution_ref="dist-c", lines=lines)
    doomed.wait(timeout=60)
    assert doomed.returncode == -signal.SIGKILL
    batch.refresh_from_db()
    assert batch.status == TxStatus.SIGNED and batch.signed_raw  # signed, stored, never sent
    assert balances(committed_chain.rpc_url, lines) == [0, 0, 0]

    # The payment task, seeing no progress, asks again: the same lines are signed again at a new nonce,
    # while the watcher also sends the first signature's stored bytes.
    (again,) = distribution_batch_pay(key="crash-2", distribution_ref="dist-c", lines=lines)
    celery_worker_process("healthy-payout", env)
    from tokens.tasks import outbox_watch_task

    def both_confirmed() -> bool:
        outbox_watch_task.delay()
        return set(ChainTransaction.objects.filter(pk__in=[batch.pk, again.pk]).values_list("status", flat=True)) == {
            TxStatus.CONFIRMED
        }

    wait_until(both_confirmed, what="both signings confirmed", interval=0.5)
    nonces = set(ChainTransaction.objects.filter(pk__in=[batch.pk, again.pk]).values_list("nonce", flat=True))
    assert len(nonces) == 2 and None not in nonces  # two signings, two nonces, both mined
    assert balances(committed_chain.rpc_url, lines) == expected(lines)
    chain_indexed(committed_chain.rpc_url)
    assert sorted(int(e.args["line"]) for e in distribution_payout_events(distribution_ref="dist-c")) == [0, 1, 2]
