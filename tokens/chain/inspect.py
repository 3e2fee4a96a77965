"""A transaction or an address as the node reports it, with calls and events decoded through the ABIs of the
contracts the portal deploys: what a block explorer shows, for a chain that has none (a local anvil)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from tokens.chain.abi import _jsonable, decode_log
from tokens.chain.artifacts import artifact_names, load_artifact
from tokens.chain.client import client_for
from tokens.chain.errors import _type_string


@dataclass(frozen=True)
class DecodedCall:
    function: str
    args: list[tuple[str, str, Any]]  # (name, type, value)


@dataclass(frozen=True)
class DecodedLog:
    index: int
    address: str
    event: str | None  # None: an event of a contract the portal does not know
    args: dict[str, Any]


@dataclass(frozen=True)
class TransactionOnChain:
    hash: str
    pending: bool
    succeeded: bool | None  # None while pending
    block_number: int | None
    block_hash: str
    timestamp: int | None
    from_address: str
    to_address: str | None
    contract_address: str | None  # a deployment's new contract
    nonce: int
    value_wei: int
    gas_used: int | None
    call: DecodedCall | None
    input_bytes: int
    logs: list[DecodedLog] = field(default_factory=list)


@dataclass(frozen=True)
class AddressOnChain:
    address: str
    is_contract: bool
    balance_wei: int
    nonce: int


def _result(response: Any) -> Any:
    if isinstance(response, dict) and "error" in response:
        raise ValueError(str(response["error"].get("message", response["error"])))
    return response.get("result") if isinstance(response, dict) else response


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value or 0)


@cache
def _function_entries() -> dict[bytes, dict[str, Any]]:
    """4-byte selector → ABI entry, across every contract the portal deploys."""
    entries: dict[bytes, dict[str, Any]] = {}
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry.get("type") != "function":
                continue
            types = [_type_string(p) for p in entry["inputs"]]
            entries.setdefault(keccak(text=f"{entry['name']}({','.join(types)})")[:4], entry)
    return entries


def call_decode(data: bytes) -> DecodedCall | None:
    """The function and named arguments of calldata for a known contract, or None."""
    entry = _function_entries().get(bytes(data[:4])) if len(data) >= 4 else None
    if entry is None:
        return None
    types = [_type_string(p) for p in entry["inputs"]]
    try:
        values = decode(types, bytes(data[4:]))
    except (DecodingError, ValueError):  # calldata that does not fit the ABI: shown undecoded rather than refused
        return None
    args = [
        (p.get("name") or f"arg{i}", t, _jsonable(t, v))
        for i, (p, t, v) in enumerate(zip(entry["inputs"], types, values, strict=True))
    ]
    return DecodedCall(function=entry["name"], args=args)


def transaction_read(*, rpc_url: str, tx_hash: str) -> TransactionOnChain | None:
    """The transaction and, once mined, its receipt and decoded events; None when the node does not know it.
    Raises tokens.chain.client.NodeUnavailable when the node does not answer."""
    client = client_for(rpc_url)
    tx = _result(client.rpc("eth_getTransactionByHash", [tx_hash]))
    if not tx:
        return None
    receipt = _result(client.rpc("eth_getTransactionReceipt", [tx_hash])) if tx.get("blockNumber") else None
    timestamp = None
    if receipt:
        block = _result(client.rpc("eth_getBlockByNumber", [receipt["blockNumber"], False]))
        timestamp = _int(block["timestamp"]) if block else None
    data = bytes.fromhex(str(tx.get("input") or "0x").removeprefix("0x"))
    logs = []
    for log in (receipt or {}).get("logs") or []:
        topics = [bytes.fromhex(t.removeprefix("0x")) for t in log.get("topics") or []]
        try:
            decoded = decode_log(topics, bytes.fromhex(str(log.get("data") or "0x").removeprefix("0x")))
        except (DecodingError, ValueError):  # a log whose topic matches but whose data does not: shown undecoded
            decoded = None
        logs.append(
            DecodedLog(
                index=_int(log.get("logIndex")),
                address=to_checksum_address(log["address"]),
                event=decoded[0] if decoded else None,
                args=decoded[1] if decoded else {},
            )
        )
    to_address = tx.get("to")
    created = (receipt or {}).get("contractAddress")
    return TransactionOnChain(
        hash=tx["hash"],
        pending=receipt is None,
        succeeded=None if receipt is None else _int(receipt.get("status")) == 1,
        block_number=_int(receipt["blockNumber"]) if receipt else None,
        block_hash=str(receipt.get("blockHash") or "") if receipt else "",
        timestamp=timestamp,
        from_address=to_checksum_address(tx["from"]),
        to_address=to_checksum_address(to_address) if to_address else None,
        contract_address=to_checksum_address(created) if created else None,
        nonce=_int(tx.get("nonce")),
        value_wei=_int(tx.get("value")),
        gas_used=_int(receipt.get("gasUsed")) if receipt else None,
        call=call_decode(data) if to_address else None,
        input_bytes=len(data),
        logs=logs,
    )


def address_read(*, rpc_url: str, address: str) -> AddressOnChain:
    """What the node holds for an address now: contract or account, balance in wei, transactions sent."""
    client = client_for(rpc_url)
    code = str(_result(client.rpc("eth_getCode", [address, "latest"])) or "0x")
    return AddressOnChain(
        address=to_checksum_address(address),
        is_contract=code not in ("0x", "0x0", ""),
        balance_wei=_int(_result(client.rpc("eth_getBalance", [address, "latest"]))),
        nonce=_int(_result(client.rpc("eth_getTransactionCount", [address, "latest"]))),
    )
