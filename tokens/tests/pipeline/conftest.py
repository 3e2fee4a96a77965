"""The chain pipeline against a real anvil: each test starts from a chain snapshot and an empty outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from eth_utils import to_checksum_address
from web3 import Web3

from tokens.chain.abi import decode_result, encode_call
from tokens.chain.client import client_for
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.services import TokenTerms, registry_deploy, registry_investor_sync, token_deploy

# anvil's default accounts 1..9 (account 0 is the portal's signer).
WALLETS = [
    to_checksum_address(a)
    for a in (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E9A6b6D8f1f6b5F3e0a6",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
        "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
        "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
    )
]
US = 840
DE = 276


@dataclass
class Chain:
    rpc_url: str
    w3: Web3
    token: ContractDeployment | None = None

    def rpc(self, method: str, params: list | None = None):  # type: ignore[no-untyped-def]
        return client_for(self.rpc_url).rpc(method, params or [])

    def drain(self, rounds: int = 20) -> None:
        """Run the pipeline in this process until nothing is open (what the workers do)."""
        for _ in range(rounds):
            for sender in set(
                ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)
            ):
                outbox_flush(chain_id=31337, sender=sender)
            if outbox_watch(chain_id=31337) == 0:
                return
        raise AssertionError("the outbox did not drain")

    def view(self, contract: str, address: str, function: str, *args):  # type: ignore[no-untyped-def]
        data = self.w3.eth.call({"to": address, "data": "0x" + encode_call(contract, function, list(args)).hex()})
        result = decode_result(contract, function, bytes(data))
        return result[0] if len(result) == 1 else result

    def balance(self, wallet: str) -> int:
        assert self.token is not None
        return int(self.view("SecurityToken", self.token.address, "balanceOf", wallet))

    def verified(self, wallet: str) -> bool:
        registry = ContractDeployment.objects.get(kind="registry")
        return bool(self.view("InvestorRegistry", registry.address, "isVerified", wallet))


def in_a_year() -> datetime:
    return datetime.now(tz=UTC) + timedelta(days=365)


@pytest.fixture
def chain_settings(anvil_node) -> Iterator[str]:  # type: ignore[no-untyped-def]
    snapshot = anvil_node.rpc("evm_snapshot")
    with override_settings(CHAIN_RPC_URL=anvil_node.rpc_url, CHAIN_ID=31337, CHAIN_CONFIRMATIONS=1):
        yield anvil_node.rpc_url
    anvil_node.rpc("evm_setAutomine", [True])
    anvil_node.rpc("evm_revert", [snapshot])


@pytest.fixture
def chain(chain_settings: str, db: None) -> Chain:
    """A deployed registry and token, with two verified investors (wallets 0 and 1, 2)."""
    return build_chain(chain_settings)


def build_chain(rpc_url: str) -> Chain:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    c = Chain(rpc_url=rpc_url, w3=w3)
    registry_deploy()
    c.drain()
    c.token = token_deploy(
        owner_ref="offering:1",
        terms=TokenTerms(name="Harbor Street Class A", symbol="HSCA", allowed_countries=[US, DE]),
    )
    registry_investor_sync(
        investor_ref="alice", country_numeric=US, flags=1, expires_at=in_a_year(), wallets=[WALLETS[0]]
    )
    registry_investor_sync(
        investor_ref="bob", country_numeric=DE, flags=1, expires_at=in_a_year(), wallets=[WALLETS[1], WALLETS[2]]
    )
    c.drain()
    c.token.refresh_from_db()
    return c


@pytest.fixture
def committed_chain(chain_settings: str, transactional_db: None) -> Chain:
    """Like `chain`, but committed, so worker processes see it."""
    return build_chain(chain_settings)
