from __future__ import annotations

import pytest

from core.errors import Conflict
from tokens.chain.client import client_for
from tokens.indexer import chain_index
from tokens.stablecoin import (
    stablecoin_deploy,
    stablecoin_faucet,
    stablecoin_receiving_address,
    stablecoin_send,
    stablecoin_transfers_received,
)
from tokens.tests.support import WALLETS, Chain, contract_send


def _coin_balance(chain: Chain, address: str, wallet: str) -> int:
    return int(chain.view("TestStablecoin", address, "balanceOf", wallet))


def test_payments_in_stablecoin_are_read_back_and_can_be_refunded(chain: Chain) -> None:
    coin = stablecoin_deploy()
    with pytest.raises(Conflict):
        stablecoin_deploy()
    chain.drain()
    coin.refresh_from_db()
    stablecoin_faucet(wallet=WALLETS[0], amount=5_000_000_000, idempotency_key="faucet-alice")  # 5,000.000000
    chain.drain()
    receiving = stablecoin_receiving_address()
    # Alice pays 1,250.00 from her own wallet (anvil unlocks its dev accounts).
    contract_send(chain.rpc_url, WALLETS[0], coin.address, "TestStablecoin", "transfer", receiving, 1_250_000_000)
    # A transfer between two other wallets is not a payment to the portal.
    stablecoin_faucet(wallet=WALLETS[1], amount=10, idempotency_key="faucet-bob")
    chain.drain()
    chain_index(client=client_for(chain.rpc_url), confirmations=1)
    received = list(stablecoin_transfers_received())
    assert [(e.args["from"], e.args["value"]) for e in received] == [(WALLETS[0], "1250000000")]
    assert list(stablecoin_transfers_received(after_event_id=received[-1].pk)) == []

    stablecoin_send(to_wallet=WALLETS[0], amount=250_000_000, idempotency_key="refund-1", purpose="Partial refund")
    chain.drain()
    assert _coin_balance(chain, coin.address, WALLETS[0]) == 5_000_000_000 - 1_250_000_000 + 250_000_000
    assert _coin_balance(chain, coin.address, receiving) == 1_000_000_000
