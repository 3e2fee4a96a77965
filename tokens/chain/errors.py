"""Decode revert data into the contract's custom error name and arguments.

web3.py reports custom errors only as raw bytes; the 4-byte selector is matched against the
``error`` entries of the ABIs and the arguments decoded with eth_abi.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


@dataclass(frozen=True)
class DecodedError:
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _type_string(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def error_selectors(abis: Iterable[list[dict[str, Any]]]) -> dict[bytes, dict[str, Any]]:
    selectors: dict[bytes, dict[str, Any]] = {}
    for abi in abis:
        for entry in abi:
            if entry.get("type") != "error":
                continue
            signature = f"{entry['name']}({','.join(_type_string(p) for p in entry['inputs'])})"
            selectors[keccak(text=signature)[:4]] = entry
    return selectors


def _as_bytes(data: str | bytes) -> bytes:
    if isinstance(data, bytes):
        return data
    return bytes.fromhex(data[2:] if data.startswith("0x") else data)


def decode_revert(data: str | bytes, *abis: list[dict[str, Any]]) -> DecodedError:
    raw = _as_bytes(data)
    selector, body = raw[:4], raw[4:]
    if selector == _ERROR_STRING:
        (message,) = decode(["string"], body)
        return DecodedError("Error", (message,), {"message": message})
    if selector == _PANIC:
        (code,) = decode(["uint256"], body)
        return DecodedError("Panic", (code,), {"code": code})
    entry = error_selectors(abis).get(selector)
    if entry is None:
        raise LookupError(f"unknown revert selector 0x{selector.hex()}")
    types = [_type_string(p) for p in entry["inputs"]]
    args = tuple(
        to_checksum_address(value) if kind == "address" else value
        for kind, value in zip(types, decode(types, body), strict=True)
    )
    return DecodedError(entry["name"], tuple(args), {p["name"]: a for p, a in zip(entry["inputs"], args, strict=True)})


def revert_data(exc: BaseException) -> str | None:
    """The raw revert data carried by a web3 exception, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return data
    if isinstance(data, dict):
        inner = data.get("data")
        if isinstance(inner, str):
            return inner
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) >= 10:
            return arg
        if isinstance(arg, dict) and isinstance(arg.get("data"), str):
            return str(arg["data"])
    return None


# --------------------------------------------------------------------------- node rejections

UNDERPRICED = "underpriced"
INSUFFICIENT_FUNDS = "insufficient_funds"
NONCE_TOO_LOW = "nonce_too_low"
INVALID = "invalid"
UNKNOWN = "unknown"

# Phrases geth, erigon, nethermind, besu and anvil use, lower-cased; the first kind that matches wins.
_REJECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (NONCE_TOO_LOW, ("nonce too low", "nonce is too low", "oldnonce", "already been used")),
    (INSUFFICIENT_FUNDS, ("insufficient funds", "insufficient balance", "insufficientfunds")),
    (
        UNDERPRICED,
        (
            "underpriced",
            "less than block base fee",
            "fee cap less than",
            "feecaptoolow",
            "max fee per gas less than",
            "gas price too low",
            "fee too low",
        ),
    ),
    (
        INVALID,
        (
            "intrinsic gas too low",
            "intrinsic gas too high",
            "exceeds block gas limit",
            "gas limit reached",
            "gas limit exceeds",
            "invalid sender",
            "invalid signature",
            "invalid chain id",
            "incorrect chain id",
            "malformed",
            "rlp",
            "could not decode",
            "oversized data",
            "max initcode size",
            "transaction type not supported",
            "tip higher than fee cap",
            "max priority fee per gas higher than max fee per gas",
        ),
    ),
)


def rejection_kind(message: str) -> str:
    """What a node's refusal of a transaction means for the outbox (see tokens/outbox.py)."""
    text = message.lower()
    for kind, phrases in _REJECTIONS:
        if any(p in text for p in phrases):
            return kind
    return UNKNOWN
