"""Addresses and hashes for the rest of tokens/ (which does not import eth_* itself)."""

from __future__ import annotations

import rlp
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address


def address_is_valid(value: object) -> bool:
    return isinstance(value, str) and is_address(value)


def checksum(value: str) -> str:
    return to_checksum_address(value)


def keccak_text(text: str) -> bytes:
    return keccak(text=text)


def create_address(sender: str, nonce: int) -> str:
    """The address CREATE gives a contract deployed by `sender` at `nonce`."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


def transfer_topics_to(addresses: list[str]) -> list[object]:
    """eth_getLogs topics for ERC-20 Transfer events into any of `addresses`."""
    topic = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    return [topic, None, ["0x" + "0" * 24 + a.lower().removeprefix("0x") for a in addresses]]
