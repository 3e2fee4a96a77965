"""Finality on a real anvil: nothing is read or confirmed before the finality rule says so, and a
reorg deeper than the rule is recorded, reopens what was confirmed in the dropped blocks, and the
outbox lands each of those effects again exactly once."""

from __future__ import annotations

from django.test import override_settings

from tokens.chain.client import client_for
from tokens.indexer import chain_index
from tokens.models import ChainEvent, ChainReorg, ChainTransaction, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain


def _index(chain: Chain) -> int:
    return chain_index(client=client_for(chain.rpc_url), chain_id=31337)


def test_with_the_finalized_rule_a_mint_is_neither_read_nor_confirmed_before_the_nodes_finalized_block(
    chain: Chain,
) -> None:
    # anvil reports as finalized the block 64 below its head.
    with override_settings(CHAIN_FINALITY="finalized", CHAIN_CONFIRMATIONS=1):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=31, idempotency_key="fin-1")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("anvil_mine", [10])
        outbox_watch(chain_id=31337)
        _index(chain)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED  # ten blocks deep, but not yet finalized
        assert not ChainEvent.objects.filter(name="Transfer", args__value="31").exists()

        chain.rpc("anvil_mine", [64])
        outbox_watch(chain_id=31337)
        _index(chain)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert ChainEvent.objects.filter(name="Transfer", args__value="31").count() == 1


def test_a_mint_is_confirmed_only_at_the_configured_depth(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=4):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=32, idempotency_key="fin-2")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("anvil_mine", [2])  # three blocks including its own
        outbox_watch(chain_id=31337)
        _index(chain)
        mint.refresh_from_db()
        assert mint.status == TxStatus.MINED
        assert not ChainEvent.objects.filter(name="Transfer", args__value="32").exists()
        chain.rpc("anvil_mine", [1])
        outbox_watch(chain_id=31337)
        _index(chain)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert ChainEvent.objects.filter(name="Transfer", args__value="32").count() == 1


def test_a_reorg_shallower_than_the_depth_is_never_seen_as_final(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=4):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=33, idempotency_key="fin-3")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("anvil_mine", [1])
        outbox_watch(chain_id=31337)
        _index(chain)
        chain.rpc("anvil_reorg", [2, []])  # the mint's block is replaced; nothing had treated it as final
        for _ in range(3):
            outbox_watch(chain_id=31337)  # sees the receipt gone and sends the same bytes again
            chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        _index(chain)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert not ChainReorg.objects.exists()
    assert chain.balance(WALLETS[0]) == 33
    assert ChainEvent.objects.filter(name="Transfer", args__value="33").count() == 1


def test_a_reorg_deeper_than_the_depth_is_recorded_and_the_confirmed_mint_lands_again_once(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=2):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=34, idempotency_key="fin-4")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        _index(chain)
        mint.refresh_from_db()
        assert mint.status == TxStatus.CONFIRMED
        assert ChainEvent.objects.filter(name="Transfer", args__value="34").count() == 1

        chain.rpc("anvil_reorg", [3, []])  # drops the mint's block and the two on top: past finality
        assert chain.balance(WALLETS[0]) == 0
        _index(chain)
        reorg = ChainReorg.objects.get()
        assert reorg.transactions_reopened == 1 and reorg.events_dropped >= 1
        assert not ChainEvent.objects.filter(name="Transfer", args__value="34").exists()
        mint.refresh_from_db()
        assert mint.status != TxStatus.CONFIRMED  # no longer shown as done

        for _ in range(3):
            outbox_watch(chain_id=31337)
            chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        _index(chain)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[0]) == 34  # on the chain again, once
    assert ChainEvent.objects.filter(name="Transfer", args__value="34").count() == 1
    assert ChainTransaction.objects.filter(idempotency_key="fin-4").count() == 1


def test_a_confirmed_mint_dropped_before_the_indexer_read_its_block_is_found_and_lands_again(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=2):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=35, idempotency_key="fin-5")
        outbox_flush(chain_id=31337, sender=mint.sender)
        chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
        mint.refresh_from_db()
        assert mint.status == TxStatus.CONFIRMED
        chain.rpc("anvil_reorg", [3, []])
        _index(chain)  # first pass after the reorg: it had read none of these blocks
        assert ChainReorg.objects.get().transactions_reopened == 1
        for _ in range(3):
            outbox_watch(chain_id=31337)
            chain.rpc("anvil_mine", [2])
        outbox_watch(chain_id=31337)
    mint.refresh_from_db()
    assert mint.status == TxStatus.CONFIRMED
    assert chain.balance(WALLETS[1]) == 35
