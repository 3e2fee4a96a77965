"""Exactly-once chain effects from the outbox, against a real anvil."""

from __future__ import annotations

import pytest
from django.test import override_settings

from core.errors import ApplicationError, Conflict
from core.models import AuditEvent
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.outbox import outbox_flush, outbox_watch, transaction_retry
from tokens.services import TokenTerms, token_deploy, token_mint, token_set_paused
from tokens.tests.support import WALLETS, Chain


def test_deployments_are_recorded_and_a_second_deploy_is_refused(chain: Chain) -> None:
    token = chain.token
    assert token is not None and token.address.startswith("0x")
    assert token.deploy_transaction is not None
    assert token.deploy_transaction.status == TxStatus.CONFIRMED
    assert token.deploy_transaction.contract_address == token.address  # predicted at signing = mined
    assert chain.view("SecurityToken", token.address, "symbol") == "HSCA"
    assert chain.view("SecurityToken", token.address, "isCountryAllowed", 840) is True
    with pytest.raises(Conflict, match="already deployed"):
        token_deploy(owner_ref="offering:1", terms=TokenTerms(name="Again", symbol="AGN", allowed_countries=[840]))
    assert ContractDeployment.objects.filter(owner_ref="offering:1").count() == 1


def test_the_same_mint_asked_twice_happens_once(chain: Chain) -> None:
    first = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=250, idempotency_key="sub-1")
    again = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=250, idempotency_key="sub-1")
    assert first.pk == again.pk
    chain.drain()
    assert chain.balance(WALLETS[0]) == 250
    with pytest.raises(ApplicationError, match="different details"):
        token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=999, idempotency_key="sub-1")


def test_a_task_delivered_twice_sends_one_transaction(chain: Chain) -> None:
    tx = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=40, idempotency_key="sub-2")
    outbox_flush(chain_id=31337, sender=tx.sender)
    outbox_flush(chain_id=31337, sender=tx.sender)  # the same task again
    tx.refresh_from_db()
    nonce = tx.nonce
    chain.drain()
    outbox_flush(chain_id=31337, sender=tx.sender)
    tx.refresh_from_db()
    assert tx.status == TxStatus.CONFIRMED and tx.nonce == nonce
    assert chain.balance(WALLETS[1]) == 40


def test_a_revert_ends_failed_with_the_named_error_and_is_not_retried(chain: Chain) -> None:
    stranger = WALLETS[5]  # never registered
    tx = token_mint(owner_ref="offering:1", wallet=stranger, amount=10, idempotency_key="sub-3")
    chain.drain()
    tx.refresh_from_db()
    assert tx.status == TxStatus.FAILED
    assert tx.error_name == "ReceiverNotVerified"
    assert tx.error_args == {"to": stranger}
    assert tx.nonce is None and tx.tx_hash is None  # refused before signing: no nonce spent
    for _ in range(3):
        outbox_watch(chain_id=31337)
    tx.refresh_from_db()
    assert tx.status == TxStatus.FAILED and tx.attempts == 0
    assert AuditEvent.objects.filter(action="chain.transaction_failed", object_id=str(tx.pk)).exists()


def test_a_transaction_reverted_on_chain_is_decoded_from_its_block(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])
    token_set_paused(owner_ref="offering:1", paused=True, idempotency_key="pause-1")
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=5, idempotency_key="sub-4")
    outbox_flush(chain_id=31337, sender=mint.sender)  # both estimated before either is mined
    chain.rpc("evm_mine")
    chain.rpc("evm_setAutomine", [True])
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.FAILED and mint.error_name == "TokenPaused"
    assert mint.block_number is not None and mint.tx_hash
    assert chain.balance(WALLETS[0]) == 0


def test_a_failed_transaction_can_be_retried_once_the_cause_is_fixed(chain: Chain) -> None:
    token_set_paused(owner_ref="offering:1", paused=True, idempotency_key="pause-2")
    chain.drain()
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=7, idempotency_key="sub-5")
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.FAILED
    token_set_paused(owner_ref="offering:1", paused=False, idempotency_key="unpause-2")
    chain.drain()
    transaction_retry(tx=mint, actor=None)
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[0]) == 7
    with pytest.raises(ApplicationError, match="Only a failed"):
        transaction_retry(tx=mint, actor=None)


def test_a_stuck_transaction_is_replaced_with_the_same_nonce(chain: Chain) -> None:
    chain.rpc("evm_setAutomine", [False])
    mint = token_mint(owner_ref="offering:1", wallet=WALLETS[2], amount=12, idempotency_key="sub-6")
    outbox_flush(chain_id=31337, sender=mint.sender)
    mint.refresh_from_db()
    nonce, first_hash = mint.nonce, mint.tx_hash
    with override_settings(CHAIN_REPLACE_UNMINED_AFTER_SECONDS=0):
        outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.previous_hashes == [first_hash] and mint.tx_hash != first_hash and mint.nonce == nonce
    chain.rpc("evm_mine")
    chain.rpc("evm_setAutomine", [True])
    chain.drain()
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[2]) == 12  # one effect, whichever signing was mined


def test_a_mined_transaction_dropped_by_a_reorg_is_sent_again(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=33, idempotency_key="sub-7")
        outbox_flush(chain_id=31337, sender=mint.sender)
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED
        chain.rpc("anvil_reorg", [1, []])  # replace the block holding the mint with an empty one
        assert chain.balance(WALLETS[0]) == 0
        outbox_watch(chain_id=31337)  # receipt gone: the same signed bytes go out again
        chain.rpc("anvil_mine", [3])
        outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[0]) == 33
    assert AuditEvent.objects.filter(action="chain.transaction_reorged", object_id=str(mint.pk)).exists()
    assert ChainTransaction.objects.filter(idempotency_key="sub-7").count() == 1


def test_a_token_nobody_could_hold_is_refused(chain: Chain) -> None:
    with pytest.raises(ApplicationError, match="no country is allowed"):
        token_deploy(owner_ref="offering:9", terms=TokenTerms(name="Nowhere", symbol="NOW"))
    assert not ContractDeployment.objects.filter(owner_ref="offering:9").exists()


def test_the_request_that_asked_for_a_transaction_is_recorded_on_its_row(chain: Chain) -> None:
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    from core.middleware import RequestIdMiddleware

    def view(request: HttpRequest) -> HttpResponse:
        token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=3, idempotency_key="req-mint")
        return HttpResponse("queued")

    response = RequestIdMiddleware(view)(RequestFactory().post("/", headers={"X-Request-ID": "req-77"}))
    assert response["X-Request-ID"] == "req-77"
    assert ChainTransaction.objects.get(idempotency_key="req-mint").request_id == "req-77"
    # Outside a request (a command, a beat task without one) the row says so by an empty id.
    token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=4, idempotency_key="no-req-mint")
    assert ChainTransaction.objects.get(idempotency_key="no-req-mint").request_id == ""
