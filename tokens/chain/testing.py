"""What tests do with a local anvil: its public dev accounts, signing as a wallet, reading and sending
contract calls, and the deployed registry and token the contract tests run against.

Tests outside tokens/ reach this through `tokens.tests.support` (only tokens/chain imports eth_*).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, cast

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_typing import HexStr
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3Exception
from web3.logs import DISCARD
from web3.types import RPCEndpoint, TxReceipt, Wei

from tokens.chain.abi import decode_result, encode_call
from tokens.chain.artifacts import load_artifact
from tokens.chain.errors import DecodedError, decode_revert, revert_data

# anvil's well-known development keys (its default mnemonic): public, worthless outside a local chain.
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]
DEV_ACCOUNTS: list[str] = [Account.from_key(key).address for key in DEV_KEYS]
# Accounts 1..9: account 0 is the portal's signer.
WALLETS = DEV_ACCOUNTS[1:]


def dev_key(address: str) -> str:
    """The private key of one of anvil's dev accounts."""
    return DEV_KEYS[[a.lower() for a in DEV_ACCOUNTS].index(address.lower())]


def personal_sign(message: str, key: str) -> str:
    """An EIP-191 `personal_sign` signature over `message`, as a wallet makes it."""
    signature = Account.sign_message(encode_defunct(text=message), private_key=key).signature
    return "0x" + bytes(signature).hex()


def typed_data_sign(typed_data: dict[str, Any], key: str) -> str:
    """An EIP-712 `eth_signTypedData_v4` signature over `typed_data`, as a wallet makes it."""
    signature = Account.sign_message(encode_typed_data(full_message=typed_data), private_key=key).signature
    return "0x" + bytes(signature).hex()


def account_new() -> tuple[str, str]:
    """A fresh key pair no one else holds: (address, private key)."""
    account = Account.create()
    return account.address, "0x" + bytes(account.key).hex()


def address_for(label: str) -> str:
    """A well-formed address derived from `label`, whose key no one holds."""
    return Web3.to_checksum_address(Web3.keccak(text=label)[12:])


def address_random() -> str:
    return Web3.to_checksum_address("0x" + secrets.token_hex(20))


def investor_id(label: str) -> bytes:
    return bytes(Web3.keccak(text=f"investor:{label}"))


def selector(signature: str) -> str:
    """A function's four-byte selector, as hex without 0x."""
    return bytes(Web3.keccak(text=signature)[:4]).hex()


def _w3(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url))


def contract_view(rpc_url: str, contract: str, address: str, function: str, *args: Any) -> Any:
    """A view function's result (one value unwrapped) read with eth_call."""
    data = _w3(rpc_url).eth.call(
        {
            "to": Web3.to_checksum_address(address),
            "data": HexStr("0x" + encode_call(contract, function, list(args)).hex()),
        }
    )
    result = decode_result(contract, function, bytes(data))
    return result[0] if len(result) == 1 else result


def contract_send(rpc_url: str, sender: str, address: str, contract: str, function: str, *args: Any) -> TxReceipt:
    """Send a contract call from one of anvil's unlocked dev accounts and wait for it to be mined."""
    return transaction_send(rpc_url, sender, address, data="0x" + encode_call(contract, function, list(args)).hex())


def contract_send_refused(rpc_url: str, sender: str, address: str, contract: str, function: str, *args: Any) -> str:
    """The custom error the node refuses this call with when `sender` sends it (checked by eth_call); "" if it would
    go through."""
    try:
        _w3(rpc_url).eth.call(
            {
                "from": Web3.to_checksum_address(sender),
                "to": Web3.to_checksum_address(address),
                "data": HexStr("0x" + encode_call(contract, function, list(args)).hex()),
            }
        )
    except Web3Exception as exc:
        data = revert_data(exc)
        return decode_revert(data, load_artifact(contract).abi).name if data else "reverted"
    return ""


def transaction_send(rpc_url: str, sender: str, to: str, *, data: str = "0x", value: int = 0) -> TxReceipt:
    w3 = _w3(rpc_url)
    tx_hash = w3.eth.send_transaction(
        {
            "from": Web3.to_checksum_address(sender),
            "to": Web3.to_checksum_address(to),
            "data": HexStr(data),
            "value": Wei(value),
        }
    )
    return w3.eth.wait_for_transaction_receipt(tx_hash)


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
    "SUPPLY_LIMIT": 14,
}
US, DE, FR = 840, 276, 250
DAY = 24 * 3600
YEAR = 365 * DAY
FAR_FUTURE = 2**40 - 1


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
            return cast(str, wallets[name])
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
        self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def events(self, receipt: Any, contract: Contract, name: str) -> list[Any]:
        return list(contract.events[name]().process_receipt(receipt, errors=DISCARD))

    def fresh_wallet(self) -> str:
        return address_random()

    def snapshot(self) -> str:
        return str(self.w3.provider.make_request(RPCEndpoint("evm_snapshot"), [])["result"])

    def revert(self, snapshot: str) -> None:
        assert self.w3.provider.make_request(RPCEndpoint("evm_revert"), [snapshot])["result"] is True


def deploy(w3: Web3, name: str, sender: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": Web3.to_checksum_address(sender)})
    )
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)


def contract_deploy(rpc_url: str, name: str, sender: str, *args: Any) -> str:
    """Deploy one of the artifacts from an unlocked dev account, outside the portal's outbox; its address."""
    return str(deploy(_w3(rpc_url), name, sender, *args).address)


def contracts_deployed(rpc_url: str) -> Env:
    """Registry + a token with every rule on (investor tracking needs it from the first mint).

    alice (US, accredited) has wallets alice and alice2; bob (DE, accredited); carol (US, not
    accredited); dave (FR, accredited; FR not allowed); yuri (US person, accredited); erin
    (verification expires in 30 days); frank is not registered. alice and bob hold 1000 each.
    """
    w3 = _w3(rpc_url)
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
    wallets: dict[str, str] = dict(zip(names, accounts, strict=False))
    agent = wallets["agent"]
    registry = deploy(w3, "InvestorRegistry", agent, agent, agent)
    token = deploy(w3, "SecurityToken", agent, "Tessera Series A", "TSA", 0, registry.address, agent, agent)
    env = Env(w3, registry, token, wallets, [load_artifact("SecurityToken").abi, load_artifact("InvestorRegistry").abi])
    now = env.now()
    cast_ = [
        ("alice", US, KYC | ACCREDITED, FAR_FUTURE),
        ("bob", DE, KYC | ACCREDITED, FAR_FUTURE),
        ("carol", US, KYC, FAR_FUTURE),
        ("dave", FR, KYC | ACCREDITED, FAR_FUTURE),
        ("yuri", US, KYC | ACCREDITED | US_PERSON, FAR_FUTURE),
        ("erin", US, KYC | ACCREDITED, now + 30 * DAY),
    ]
    env.tx(
        registry.functions.batchRegisterInvestors(
            [investor_id(n) for n, *_ in cast_],
            [wallets[n] for n, *_ in cast_],
            [c for _, c, _, _ in cast_],
            [f for _, _, f, _ in cast_],
            [e for *_, e in cast_],
        )
    )
    env.tx(registry.functions.addWallet(wallets["alice2"], investor_id("alice")))
    env.tx(token.functions.setRules(ALL_RULES))
    env.tx(token.functions.setInvestorFlags(KYC, 0))
    env.tx(token.functions.setCountriesAllowed([US, DE], True))
    env.tx(token.functions.setLimits(1000, 1000, 10**12))
    env.tx(token.functions.batchMint([wallets["alice"], wallets["bob"]], [1000, 1000]))
    return env
