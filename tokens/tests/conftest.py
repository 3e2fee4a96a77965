"""One anvil per test session, contracts deployed once, each test isolated by evm_snapshot/evm_revert."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.logs import DISCARD

from tokens.chain.anvil import Anvil
from tokens.chain.artifacts import load_artifact
from tokens.chain.errors import DecodedError, decode_revert, revert_data

# Registry flags and token rules, as defined in the contracts.
KYC, ACCREDITED, US_PERSON, ENTITY = 1, 2, 4, 8
VERIFIED, COUNTRY, FLAGS, LOCKUP = 1, 2, 4, 8
MAX_INVESTORS, MAX_NON_ACCREDITED, MAX_BALANCE = 16, 32, 64
ALL_RULES = 127
# ERC-1404 restriction codes.
CODES = {
    "SUCCESS": 0,
    "PAUSED": 1,
    "SENDER_NOT_VERIFIED": 2,
    "RECEIVER_NOT_VERIFIED": 3,
    "COUNTRY_NOT_ALLOWED": 4,
    "FLAGS_NOT_ALLOWED": 5,
    "SENDER_FROZEN": 6,
    "RECEIVER_FROZEN": 7,
    "INSUFFICIENT_BALANCE": 8,
    "AMOUNT_FROZEN": 9,
    "TOKENS_LOCKED": 10,
    "MAX_INVESTORS": 11,
    "MAX_NON_ACCREDITED": 12,
    "MAX_BALANCE": 13,
}
US, DE, FR = 840, 276, 250
DAY = 24 * 3600
YEAR = 365 * DAY
FAR_FUTURE = 2**40 - 1


def investor_id(label: str) -> bytes:
    return Web3.keccak(text=f"investor:{label}")


@dataclass
class Env:
    """Deployed registry and token with a cast of wallets; `agent` is issuer admin and agent."""

    w3: Web3
    registry: Contract
    token: Contract
    wallets: dict[str, str]
    abis: list[list[dict[str, Any]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> str:
        wallets = self.__dict__.get("wallets", {})
        if name in wallets:
            return wallets[name]
        raise AttributeError(name)

    def tx(self, call: Any, sender: str | None = None) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender or self.agent}))
        assert receipt["status"] == 1
        return receipt

    def reverts(self, call: Any, sender: str | None = None) -> DecodedError:
        """The custom error a transaction reverts with (checked by eth_call, then by a sent tx)."""
        try:
            call.call({"from": sender or self.agent})
        except Web3Exception as exc:
            data = revert_data(exc)
            assert data, f"revert without data: {exc!r}"
            return decode_revert(data, *self.abis)
        raise AssertionError("call did not revert")

    def code(self, sender: str, receiver: str, amount: int) -> int:
        return int(self.token.functions.detectTransferRestriction(sender, receiver, amount).call())

    def balance(self, wallet: str) -> int:
        return int(self.token.functions.balanceOf(wallet).call())

    def advance(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def events(self, receipt: Any, contract: Contract, name: str) -> list[Any]:
        return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))

    def fresh_wallet(self) -> str:
        return Web3.to_checksum_address("0x" + secrets.token_hex(20))


def deploy(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": sender}))
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil(accounts=16) as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url))


@pytest.fixture(scope="session")
def deployed(w3: Web3) -> Env:
    """Registry + a token with every rule on (investor tracking needs it from the first mint).

    alice (US, accredited) has wallets alice and alice2; bob (DE, accredited); carol (US, not
    accredited); dave (FR, accredited; FR not allowed); yuri (US person, accredited); erin
    (verification expires in 30 days); frank is not registered. alice and bob hold 1000 each.
    """
    accounts = w3.eth.accounts
    names = [
        "agent",
        "alice",
        "alice2",
        "bob",
        "carol",
        "dave",
        "yuri",
        "erin",
        "frank",
        "outsider",
        "spare1",
        "spare2",
    ]
    wallets = dict(zip(names, accounts))
    agent = wallets["agent"]
    registry = deploy(w3, "InvestorRegistry", agent, agent, agent)
    token = deploy(w3, "SecurityToken", agent, "Tessera Series A", "TSA", 0, registry.address, agent, agent)
    env = Env(w3, registry, token, wallets, [load_artifact("SecurityToken").abi, load_artifact("InvestorRegistry").abi])
    now = env.now()
    cast = [
        ("alice", US, KYC | ACCREDITED, FAR_FUTURE),
        ("bob", DE, KYC | ACCREDITED, FAR_FUTURE),
        ("carol", US, KYC, FAR_FUTURE),
        ("dave", FR, KYC | ACCREDITED, FAR_FUTURE),
        ("yuri", US, KYC | ACCREDITED | US_PERSON, FAR_FUTURE),
        ("erin", US, KYC | ACCREDITED, now + 30 * DAY),
    ]
    env.tx(
        registry.functions.batchRegisterInvestors(
            [investor_id(n) for n, *_ in cast],
            [wallets[n] for n, *_ in cast],
            [c for _, c, _, _ in cast],
            [f for _, _, f, _ in cast],
            [e for *_, e in cast],
        )
    )
    env.tx(registry.functions.addWallet(wallets["alice2"], investor_id("alice")))
    env.tx(token.functions.setRules(ALL_RULES))
    env.tx(token.functions.setInvestorFlags(KYC, 0))
    env.tx(token.functions.setCountriesAllowed([US, DE], True))
    env.tx(token.functions.setLimits(1000, 1000, 10**12))
    env.tx(token.functions.batchMint([wallets["alice"], wallets["bob"]], [1000, 1000]))
    return env


@pytest.fixture
def env(deployed: Env, w3: Web3) -> Iterator[Env]:
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield deployed
    finally:
        assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
