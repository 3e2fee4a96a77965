"""The chain pipeline for tests of every app: anvil's dev wallets and keys, running the outbox in this
process as the workers do, reading contracts, and what the pipeline records when there is no chain.

The signing and contract helpers come from `tokens.chain.testing` (only tokens/chain imports eth_*).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from tokens.chain.abi import encode_call
from tokens.chain.anvil import free_port
from tokens.chain.client import client_for
from tokens.chain.signer import signing_allowed
from tokens.chain.testing import (
    DEV_ACCOUNTS,
    DEV_KEYS,
    WALLETS,
    account_new,
    address_for,
    contract_deploy,
    contract_send,
    contract_send_refused,
    contract_view,
    dev_key,
    personal_sign,
    selector,
    transaction_send,
    typed_data_sign,
)
from tokens.indexer import chain_index
from tokens.models import (
    ChainTransaction,
    ContractDeployment,
    ContractKind,
    RegistryInvestor,
    RegistryWallet,
    TxStatus,
)
from tokens.outbox import outbox_flush, outbox_watch, transaction_enqueue
from tokens.payout import payout_allowance_ensure, payout_contract_deploy, payout_treasury
from tokens.services import TokenTerms, registry_deploy, registry_investor_sync, token_deploy
from tokens.stablecoin import portal_stablecoin, stablecoin_deploy, stablecoin_faucet, stablecoin_receiving_address

__all__ = [
    "DE",
    "DEV_ACCOUNTS",
    "DEV_KEYS",
    "US",
    "WALLETS",
    "Chain",
    "account_new",
    "address_for",
    "chain_build",
    "chain_indexed",
    "coin_balance",
    "contract_deploy",
    "contract_send",
    "contract_send_refused",
    "contract_view",
    "dev_key",
    "drain",
    "free_port",
    "in_a_year",
    "outbox_flush",
    "outbox_watch",
    "payout_ready",
    "personal_sign",
    "registry_deployed",
    "registry_wallet_recorded",
    "selector",
    "stablecoin_deploy",
    "stablecoin_faucet",
    "stablecoin_receiving_address",
    "token_balance",
    "token_configure",
    "transaction_send",
    "typed_data_sign",
    "wait_until",
]

US = 840
DE = 276
# What the registry's deployment is recorded at when a test has no chain.
REGISTRY_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

_counter = itertools.count(1)


def drain(*, rounds: int = 30, failures_allowed: bool = False) -> None:
    """Sign, send and confirm every pending row in this process, as the workers do."""
    with signing_allowed():
        _drain(rounds=rounds, failures_allowed=failures_allowed)


def _drain(*, rounds: int, failures_allowed: bool) -> None:
    for _ in range(rounds):
        for sender in set(ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)):
            outbox_flush(chain_id=31337, sender=sender)
        if outbox_watch(chain_id=31337) == 0:
            if not failures_allowed:
                failed = ChainTransaction.objects.filter(status=TxStatus.FAILED).first()
                assert failed is None, f"{failed.purpose}: {failed.error_name or failed.last_error}"
            return
    raise AssertionError("the outbox did not drain")


def wait_until(
    predicate: Callable[[], object],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.5,
    tick: Callable[[], object] | None = None,
) -> None:
    """Poll `predicate` (calling `tick` first each round) until it is true: workers run elsewhere."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def chain_indexed(rpc_url: str, *, confirmations: int = 1) -> None:
    """Read the chain's new events into the portal, as the indexer's beat task does."""
    chain_index(client=client_for(rpc_url), confirmations=confirmations)


def token_balance(rpc_url: str, token: ContractDeployment, wallet: str) -> int:
    return int(contract_view(rpc_url, "SecurityToken", token.address, "balanceOf", wallet))


def coin_balance(rpc_url: str, wallet: str) -> int:
    """The portal stablecoin's `balanceOf(wallet)`."""
    coin = portal_stablecoin()
    assert coin is not None and coin.address
    return int(contract_view(rpc_url, "TestStablecoin", coin.address, "balanceOf", wallet))


def payout_ready(*, treasury_units: int) -> ContractDeployment:
    """The test stablecoin, a treasury holding `treasury_units` of it, and the payout contract it approved."""
    if portal_stablecoin() is None:
        stablecoin_deploy()
        drain()
    if treasury_units:
        stablecoin_faucet(wallet=payout_treasury(), amount=treasury_units, idempotency_key=f"treasury-{next(_counter)}")
    payout = payout_contract_deploy()
    drain()
    payout_allowance_ensure()
    drain()
    payout.refresh_from_db()
    return payout


def in_a_year() -> datetime:
    return datetime.now(tz=UTC) + timedelta(days=365)


def registry_deployed() -> ContractDeployment:
    """The portal registry as the chain pipeline records it once deployed (without a chain)."""
    return ContractDeployment.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        kind=ContractKind.REGISTRY,
        owner_ref="portal",
        defaults={"name": "Tessera investor registry", "address": REGISTRY_ADDRESS},
    )[0]


def registry_wallet_recorded(investor_ref: str, address: str, *, confirmed: bool = True) -> None:
    """What the chain pipeline records once the registry holds the wallet (without a chain)."""
    n = next(_counter)
    tx = ChainTransaction.objects.create(
        idempotency_key=f"test-registry-{investor_ref}-{n}",
        purpose="register",
        chain_id=settings.CHAIN_ID,
        sender=DEV_ACCOUNTS[0],
        data=b"",
        status=TxStatus.CONFIRMED if confirmed else TxStatus.PENDING,
    )
    reg, _ = RegistryInvestor.objects.get_or_create(
        chain_id=settings.CHAIN_ID,
        investor_ref=investor_ref,
        defaults={"investor_id": "0x" + "00" * 32, "country": 840, "flags": 1, "expiry": 0, "registered": True},
    )
    RegistryWallet.objects.create(investor=reg, address=address, active=True, transaction=tx)


@dataclass
class Chain:
    """The portal's pipeline on anvil, with the token `chain_build` deployed."""

    rpc_url: str
    token: ContractDeployment | None = None

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return client_for(self.rpc_url).rpc(method, params or [])

    def drain(self, rounds: int = 30) -> None:
        """Run the pipeline in this process until nothing is open (what the workers do)."""
        drain(rounds=rounds, failures_allowed=True)

    def view(self, contract: str, address: str, function: str, *args: Any) -> Any:
        return contract_view(self.rpc_url, contract, address, function, *args)

    def balance(self, wallet: str) -> int:
        assert self.token is not None
        return token_balance(self.rpc_url, self.token, wallet)

    def verified(self, wallet: str) -> bool:
        registry = ContractDeployment.objects.get(kind="registry")
        return bool(self.view("InvestorRegistry", registry.address, "isVerified", wallet))


def chain_build(rpc_url: str) -> Chain:
    """A deployed registry and token, with two verified investors (wallets 0 and 1, 2)."""
    c = Chain(rpc_url=rpc_url)
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


def token_configure(owner_ref: str, function: str, *args: Any) -> ChainTransaction:
    """One of the token admin's configuration calls (`setRules`, `setLimits`, ...) through the outbox, as a
    deployment's setup sends them; the test drains it."""
    token = ContractDeployment.objects.get(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref
    )
    return transaction_enqueue(
        idempotency_key=f"test:{owner_ref}:{function}:{next(_counter)}",
        purpose=f"Test: {function}",
        to_address=token.address,
        to_deployment=None if token.address else token,
        data=encode_call("SecurityToken", function, list(args)),
    )
