from __future__ import annotations

from django.test import override_settings

from tokens.chain.client import client_for
from tokens.indexer import chain_index
from tokens.models import ChainEvent
from tokens.outbox import outbox_flush, outbox_watch
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain


def _index(chain: Chain, confirmations: int = 1) -> int:
    return chain_index(client=client_for(chain.rpc_url), chain_id=31337, confirmations=confirmations)


def test_events_are_stored_once_whatever_the_number_of_passes(chain: Chain) -> None:
    token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=100, idempotency_key="m1")
    token_mint(owner_ref="offering:1", wallet=WALLETS[1], amount=50, idempotency_key="m2")
    chain.drain()
    _index(chain)
    _index(chain)
    assert chain.token is not None
    transfers = ChainEvent.objects.filter(name="Transfer", contract_address=chain.token.address)
    assert sorted((e.args["to"], e.args["value"]) for e in transfers) == sorted(
        [(WALLETS[0], "100"), (WALLETS[1], "50")]
    )
    registered = ChainEvent.objects.filter(name="InvestorRegistered").count()
    assert registered == 2  # alice and bob, from the registry contract
    assert ChainEvent.objects.filter(name="WalletAdded", args__wallet=WALLETS[2]).count() == 1


def test_unconfirmed_blocks_are_not_read(chain: Chain) -> None:
    token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=9, idempotency_key="m3")
    chain.drain()
    _index(chain, confirmations=3)
    assert not ChainEvent.objects.filter(name="Transfer", args__value="9").exists()
    chain.rpc("anvil_mine", [2])
    _index(chain, confirmations=3)
    assert ChainEvent.objects.filter(name="Transfer", args__value="9").count() == 1


def test_a_reorg_rolls_events_back_and_they_are_read_again(chain: Chain) -> None:
    with override_settings(CHAIN_CONFIRMATIONS=3):
        mint = token_mint(owner_ref="offering:1", wallet=WALLETS[0], amount=77, idempotency_key="m4")
        outbox_flush(chain_id=31337, sender=mint.sender)
        _index(chain, confirmations=1)
        first = ChainEvent.objects.get(name="Transfer", args__value="77")
        chain.rpc("anvil_reorg", [1, []])
        _index(chain, confirmations=1)
        assert not ChainEvent.objects.filter(name="Transfer", args__value="77").exists()  # rolled back
        outbox_watch(chain_id=31337)  # the mint is sent again
        chain.rpc("anvil_mine", [3])
        outbox_watch(chain_id=31337)
        _index(chain, confirmations=1)
    again = ChainEvent.objects.get(name="Transfer", args__value="77")
    assert again.block_hash != first.block_hash
    assert chain.balance(WALLETS[0]) == 77
