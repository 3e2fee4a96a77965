"""A node that refuses, a nonce used elsewhere, a revert not yet final, gas that ran out: the sender never stalls."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from core.errors import ApplicationError
from core.models import AuditEvent
from core.tests.support import Cast
from tokens.chain.abi import encode_call
from tokens.chain.signer import signing_allowed, signing_disable
from tokens.models import ChainTransaction, TxHold, TxStatus
from tokens.outbox import outbox_flush, outbox_watch, transaction_enqueue, transaction_retry
from tokens.services import TokenTerms, token_deploy, token_mint, token_set_paused
from tokens.tests.support import DEV_ACCOUNTS, WALLETS, Chain

DEV = DEV_ACCOUNTS[0]  # the portal's sender on a local chain


def _mint_call(chain: Chain, wallet: str, amount: int, key: str, gas_limit: int | None = None) -> ChainTransaction:
    assert chain.token is not None
    return transaction_enqueue(
        idempotency_key=key,
        purpose=f"Mint {amount} to {wallet}",
        to_address=chain.token.address,
        data=encode_call("SecurityToken", "mint", [wallet, amount]),
        gas_limit=gas_limit,
    )


def _audited(action: str, tx: ChainTransaction) -> bool:
    return AuditEvent.objects.filter(action=action, object_id=str(tx.pk)).exists()


def test_drill_one_transaction_refused_for_good_among_twenty_fails_and_the_others_confirm(chain: Chain) -> None:
    queued = []
    for i in range(20):
        # The eleventh is refused by the node for good: its gas limit is below a transfer's 21,000.
        queued.append(_mint_call(chain, WALLETS[i % 3], i + 1, f"drill-{i}", gas_limit=20_000 if i == 10 else None))
    chain.drain()
    refused = ChainTransaction.objects.get(pk=queued[10].pk)
    assert refused.status == TxStatus.FAILED and refused.error_name == "RejectedByNode"
    assert "intrinsic gas too low" in refused.last_error
    others = ChainTransaction.objects.filter(pk__in=[t.pk for i, t in enumerate(queued) if i != 10])
    assert set(others.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
    fill = ChainTransaction.objects.get(fill_for=refused)
    assert refused.error_args is not None and fill.nonce is not None
    assert fill.status == TxStatus.CONFIRMED and fill.to_address == fill.sender and int(fill.value) == 0
    assert fill.nonce == int(refused.error_args["nonce"])  # the nonce it left behind was used by the fill
    nonces = sorted([n for n in others.values_list("nonce", flat=True) if n is not None] + [fill.nonce])
    assert len(nonces) == 20
    assert nonces == list(range(nonces[0], nonces[0] + 20))  # no gap, no nonce twice
    expected = [sum(i + 1 for i in range(20) if i % 3 == k and i != 10) for k in range(3)]
    assert [chain.balance(WALLETS[k]) for k in range(3)] == expected
    assert _audited("chain.transaction_failed", refused) and _audited("chain.nonce_filled", fill)


def test_an_under_priced_transaction_is_re_priced_at_the_same_nonce(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=9, idempotency_key="cheap-1")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    nonce, first_hash = mint.nonce, mint.tx_hash
    # The node forgets its pool (a restart) while the base fee rises far above what it was signed for.
    chain.rpc("anvil_dropAllTransactions")
    chain.rpc("anvil_setNextBlockBaseFeePerGas", [hex(500 * 10**9)])
    outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.nonce == nonce and mint.previous_hashes == [first_hash] and mint.tx_hash != first_hash
    assert int(mint.max_fee_per_gas or 0) > 500 * 10**9
    assert _audited("chain.transaction_repriced", mint)
    chain.rpc("evm_mine")
    chain.rpc("evm_setAutomine", [True])
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED and chain.balance(WALLETS[0]) == 9


def test_a_sender_that_cannot_pay_for_gas_is_held_and_shown_without_losing_its_nonce(
    chain: Chain, cast: Cast, client: Client
) -> None:
    balance = int(chain.rpc("eth_getBalance", [DEV, "latest"])["result"], 16)
    chain.rpc("anvil_setBalance", [DEV, "0x0"])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=4, idempotency_key="broke-1")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    assert mint.status == TxStatus.SIGNED and mint.hold == TxHold.INSUFFICIENT_FUNDS and mint.nonce is not None
    assert not ChainTransaction.objects.filter(fill_for=mint).exists()  # held, not filled
    health = client.get("/health/").json()
    assert health["status"] == "degraded"
    sender = next(s for s in health["checks"]["senders"]["senders"] if s["address"] == DEV)
    assert sender["ok"] is False and sender["held"] == {"insufficient_funds": 1}
    assert sender["oldest_unconfirmed_nonce"] == mint.nonce
    client.force_login(cast.staff)
    assert "cannot pay for gas — fund this address" in client.get("/staff/chain/").content.decode()

    chain.rpc("anvil_setBalance", [DEV, hex(balance)])
    outbox_flush(chain_id=31337, sender=mint.sender)  # what the next flush or watcher pass does
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED and mint.hold == TxHold.NONE and chain.balance(WALLETS[1]) == 4
    assert _audited("chain.transaction_held", mint) and _audited("chain.transaction_released", mint)
    sender = next(s for s in client.get("/health/").json()["checks"]["senders"]["senders"] if s["address"] == DEV)
    assert sender["ok"] is True and sender["oldest_unconfirmed_nonce"] is None


def test_an_old_unconfirmed_nonce_turns_health_and_the_staff_page_red(chain: Chain, cast: Cast, client: Client) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=2, idempotency_key="slow-1")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    with override_settings(CHAIN_NONCE_STALL_SECONDS=3600):
        sender = client.get("/health/").json()["checks"]["senders"]["senders"][0]
        assert sender["oldest_unconfirmed_nonce"] == mint.nonce and sender["stalled"] is False
    with override_settings(CHAIN_NONCE_STALL_SECONDS=-1):
        health = client.get("/health/").json()
        sender = health["checks"]["senders"]["senders"][0]
        assert health["status"] == "degraded" and sender["stalled"] is True
        assert sender["oldest_unconfirmed_age_seconds"] >= 0
        client.force_login(cast.staff)
        page = client.get("/staff/chain/").content.decode()
        assert f"{mint.nonce}, unconfirmed for" in page and "stalled: over -1 s" in page


def test_nonce_too_low_without_our_receipt_fails_the_row_and_is_not_sent_again(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[2], amount=6, idempotency_key="taken-1")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    # Something else signs with the same key at the same nonce (another system holding the key).
    chain.rpc("anvil_dropAllTransactions")
    assert mint.nonce is not None
    chain.rpc("eth_sendTransaction", [{"from": DEV, "to": DEV, "value": "0x1", "nonce": hex(mint.nonce)}])
    chain.rpc("evm_mine")
    chain.rpc("evm_setAutomine", [True])
    outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.status == TxStatus.FAILED and mint.error_name == "NonceTaken"
    assert "not by this one" in mint.last_error
    assert chain.balance(WALLETS[2]) == 0
    later = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=1, idempotency_key="taken-2")
    chain.drain()  # the sender goes on: a later request gets a nonce nobody used
    later.refresh_from_db()
    assert later.status == TxStatus.CONFIRMED and later.nonce == mint.nonce + 1
    transaction_retry(tx=mint, actor=None)  # a person decided: sent once, at a new nonce
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED and chain.balance(WALLETS[2]) == 6


def test_nonce_too_low_with_our_own_receipt_is_success(chain: Chain) -> None:
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=3, idempotency_key="mined-1")
    outbox_flush(chain_id=31337, sender=mint.sender)
    # A worker died after the node took the bytes but before the row said so.
    ChainTransaction.objects.filter(pk=mint.pk).update(status=TxStatus.SIGNED)
    outbox_flush(chain_id=31337, sender=mint.sender)
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED and chain.balance(WALLETS[1]) == 3


def test_staff_fill_a_nonce_from_the_web_and_a_worker_signs_the_fill(chain: Chain, cast: Cast) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=8, idempotency_key="fill-me")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    client = Client()
    client.force_login(cast.staff)
    signing_disable()  # a web process: it never loads a key
    assert b"Fill this nonce" in client.get("/staff/chain/").content
    response = client.post(f"/staff/chain/{mint.pk}/fill/", follow=True)
    assert b"will be filled with an empty transfer" in response.content
    fill = ChainTransaction.objects.get(fill_for=mint)
    assert fill.status == TxStatus.PENDING and fill.nonce == mint.nonce  # signed later, by a worker
    with signing_allowed():
        outbox_flush(chain_id=31337, sender=mint.sender)  # the fill outbids the original in the pool
        chain.rpc("evm_mine")
        chain.rpc("evm_setAutomine", [True])
        chain.drain()
    mint.refresh_from_db()
    fill.refresh_from_db()
    assert mint.status == TxStatus.FAILED and mint.error_name == "NonceFilled"
    assert fill.status == TxStatus.CONFIRMED and chain.balance(WALLETS[0]) == 0
    assert AuditEvent.objects.filter(
        action="chain.nonce_fill_requested", object_id=str(fill.pk), actor_id=cast.staff.pk
    ).exists()
    again = client.post(f"/staff/chain/{mint.pk}/fill/", follow=True)
    assert b"holds a nonce to fill" in again.content


def test_a_revert_counts_as_failed_only_once_its_block_is_final(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        chain.rpc("evm_setAutomine", [False])
        token_set_paused(owner_ref="offering:1", paused=True, idempotency_key="pause-f")
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=5, idempotency_key="final-1")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("evm_mine")
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED and mint.block_number is not None  # reverted, not final
        chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        chain.rpc("evm_setAutomine", [True])
    mint.refresh_from_db()
    assert mint.status == TxStatus.FAILED and mint.error_name == "TokenPaused"


def test_a_gas_limit_too_low_is_decoded_as_out_of_gas_and_the_retry_estimates_again(chain: Chain) -> None:
    assert chain.token is not None
    tx = transaction_enqueue(
        idempotency_key="lockup-low",
        purpose="Set lock-up period of HSCA",
        to_address=chain.token.address,
        data=encode_call("SecurityToken", "setLockupPeriod", [365 * 86400]),
        gas_limit=36_550,
    )
    chain.drain()
    tx.refresh_from_db()
    assert tx.status == TxStatus.FAILED and tx.error_name == "OutOfGas"
    assert tx.gas_used == 36_550 and "ran out of gas" in tx.last_error
    transaction_retry(tx=tx, actor=None)
    chain.drain()
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED and tx.gas_limit != 36_550 and (tx.gas_used or 0) > 36_550


def test_token_configuration_signed_before_its_deployment_is_mined_has_enough_gas(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])  # a real chain: the deployment is not mined when the rest is signed
    token = token_deploy(
        owner_ref="offering:2",
        terms=TokenTerms(name="Beacon Notes", symbol="BCN", allowed_countries=[840], lockup_seconds=365 * 86400),
    )
    assert token.deploy_transaction is not None
    outbox_flush(chain_id=31337, sender=token.deploy_transaction.sender)
    chain.rpc("evm_mine")
    chain.rpc("evm_setAutomine", [True])
    chain.drain()
    setup = ChainTransaction.objects.filter(idempotency_key__startswith="token:31337:offering:2:setup:")
    assert {t.purpose: t.status for t in setup} == {t.purpose: TxStatus.CONFIRMED for t in setup}
    assert (setup.get(purpose__startswith="Set lock-up period").gas_used or 0) > 36_550


def test_retry_never_re_signs_a_row_whose_transaction_succeeded(chain: Chain) -> None:
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=11, idempotency_key="done-1")
    chain.drain()
    mint.refresh_from_db()
    # A row wrongly marked failed (e.g. by hand) whose own transaction took effect.
    ChainTransaction.objects.filter(pk=mint.pk).update(status=TxStatus.FAILED)
    with pytest.raises(ApplicationError, match="mined successfully"):
        transaction_retry(tx=mint, actor=None)
    chain.drain()
    assert chain.balance(WALLETS[0]) == 11
