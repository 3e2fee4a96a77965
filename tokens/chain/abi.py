"""ABI encoding of calls and deployments, and decoding of event logs, from the committed artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from tokens.chain.artifacts import artifact_names, load_artifact
from tokens.chain.errors import DecodedError, _type_string, decode_revert


def _types(params: list[dict[str, Any]]) -> list[str]:
    return [_type_string(p) for p in params]


@cache
def _functions(contract: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in load_artifact(contract).abi if e.get("type") == "function"}


def encode_call(contract: str, function: str, args: list[Any] | tuple[Any, ...]) -> bytes:
    entry = _functions(contract)[function]
    types = _types(entry["inputs"])
    selector = keccak(text=f"{function}({','.join(types)})")[:4]
    return selector + encode(types, list(args))


def encode_deploy(contract: str, args: list[Any] | tuple[Any, ...]) -> bytes:
    artifact = load_artifact(contract)
    ctor: dict[str, Any] = next((e for e in artifact.abi if e.get("type") == "constructor"), {"inputs": []})
    bytecode = bytes.fromhex(artifact.bytecode.removeprefix("0x"))
    return bytecode + encode(_types(ctor["inputs"]), list(args))


def decode_result(contract: str, function: str, data: bytes) -> tuple[Any, ...]:
    entry = _functions(contract)[function]
    return tuple(decode(_types(entry["outputs"]), data))


def decode_result_or_none(contract: str, function: str, data: bytes) -> tuple[Any, ...] | None:
    """`decode_result`, or None when `data` is not an answer of that shape (a contract at an address the portal
    did not deploy, answering something else)."""
    try:
        return decode_result(contract, function, data)
    except DecodingError:
        return None


@dataclass(frozen=True)
class EventSpec:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type)
    data: tuple[tuple[str, str], ...]


@cache
def event_specs() -> dict[bytes, EventSpec]:
    """topic0 → event, across every contract the portal deploys."""
    specs: dict[bytes, EventSpec] = {}
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            types = _types(entry["inputs"])
            topic = keccak(text=f"{entry['name']}({','.join(types)})")
            specs[topic] = EventSpec(
                entry["name"],
                tuple((p["name"], t) for p, t in zip(entry["inputs"], types, strict=True) if p["indexed"]),
                tuple((p["name"], t) for p, t in zip(entry["inputs"], types, strict=True) if not p["indexed"]),
            )
    return specs


def _jsonable(kind: str, value: Any) -> Any:
    """Addresses checksummed, integers as decimal strings (uint256 does not fit JSON numbers), bytes as hex."""
    if kind == "address":
        return to_checksum_address(value)
    if kind.startswith(("uint", "int")) and not kind.endswith("]"):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        inner = kind[: kind.rindex("[")]
        return [_jsonable(inner, v) for v in value]
    return value


def checksum_address(raw: bytes) -> str:
    """EIP-55 checksummed form of a 20-byte address (what eth_utils' to_checksum_address gives, without its
    layers of input checks: the indexer checksums every address of every log)."""
    plain = raw.hex()
    digest = keccak(plain.encode("ascii")).hex()[:40]
    return "0x" + "".join(c.upper() if d >= "8" else c for c, d in zip(plain, digest, strict=True))


class _NotPlain(ValueError):
    """A word that is not the strict encoding of its type: left to eth_abi, which decides as it always did."""


def _word_jsonable(kind: str, word: bytes) -> Any:
    """`_jsonable` of one elementary static value read straight from its 32-byte ABI word."""
    if len(word) != 32:
        raise _NotPlain(kind)
    if kind == "address":
        if any(word[:12]):
            raise _NotPlain(kind)
        return checksum_address(word[12:])
    if kind == "bool":
        if any(word[:31]) or word[31] > 1:
            raise _NotPlain(kind)
        return bool(word[31])
    if kind.startswith("uint"):
        value = int.from_bytes(word, "big")
        if value >> int(kind[4:]):
            raise _NotPlain(kind)
        return str(value)
    if kind.startswith("int"):
        value, bits = int.from_bytes(word, "big", signed=True), int(kind[3:])
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise _NotPlain(kind)
        return str(value)
    size = int(kind[5:])  # bytesN, left-aligned in its word
    if any(word[size:]):
        raise _NotPlain(kind)
    return "0x" + word[:size].hex()


def _elementary(kind: str) -> bool:
    if kind in ("address", "bool"):
        return True
    if kind.startswith(("uint", "int")):
        return kind.removeprefix("u").removeprefix("int").isdigit()
    return kind.startswith("bytes") and kind[5:].isdigit()


@cache
def _word_decodable(spec: EventSpec) -> bool:
    """Every value of the event sits in one word of its own (elementary static types only)."""
    return all(_elementary(kind) for _, kind in (*spec.indexed, *spec.data))


def decode_log(topics: list[bytes], data: bytes) -> tuple[str, dict[str, Any]] | None:
    """(event name, args) for a log of a known contract, or None for an unknown event."""
    if not topics:
        return None
    spec = event_specs().get(bytes(topics[0]))
    if spec is None:
        return None
    args: dict[str, Any] = {}
    data = bytes(data)
    if _word_decodable(spec) and len(topics) == len(spec.indexed) + 1 and len(data) == 32 * len(spec.data):
        # The common case (transfers, payout lines): each value is its word, read straight from it, many times
        # faster than eth_abi for the ten thousand logs of a large payout.
        try:
            for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
                args[name] = _word_jsonable(kind, bytes(topic))
            for n, (name, kind) in enumerate(spec.data):
                args[name] = _word_jsonable(kind, data[32 * n : 32 * n + 32])
            return spec.name, args
        except _NotPlain:
            args = {}
    for (name, kind), topic in zip(spec.indexed, topics[1:], strict=True):
        dynamic = kind in ("string", "bytes") or kind.endswith("]")
        args[name] = "0x" + bytes(topic).hex() if dynamic else _jsonable(kind, decode([kind], bytes(topic))[0])
    values = decode([k for _, k in spec.data], data) if spec.data else ()
    for (name, kind), value in zip(spec.data, values, strict=True):
        args[name] = _jsonable(kind, value)
    return spec.name, args


def decode_revert_any(data: str | bytes) -> DecodedError:
    return decode_revert(data, *(load_artifact(n).abi for n in artifact_names()))


def function_selector(contract: str, function: str) -> bytes:
    """The 4-byte selector of one of the contract's functions, from its ABI."""
    entry = _functions(contract)[function]
    return keccak(text=f"{function}({','.join(_types(entry['inputs']))})")[:4]


def decode_call(contract: str, data: bytes) -> tuple[str, tuple[Any, ...]] | None:
    """(function name, arguments) of calldata for one of the contract's functions, or None for another call."""
    data = bytes(data)
    for name, entry in _functions(contract).items():
        if data[:4] == function_selector(contract, name):
            return name, tuple(decode(_types(entry["inputs"]), data[4:]))
    return None
