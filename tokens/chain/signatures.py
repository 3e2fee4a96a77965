"""Recovering who signed a message (EIP-191 personal_sign) and checking addresses: cryptography only."""

from __future__ import annotations

import re

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address


class SignatureInvalid(ValueError):
    pass


def personal_sign_signer(*, text: str, signature: str) -> str:
    """The checksum address whose key made an EIP-191 `personal_sign` signature over `text`."""
    sig = (signature or "").strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{130}", sig):
        raise SignatureInvalid("the signature is not 65 bytes of hex")
    try:
        return to_checksum_address(Account.recover_message(encode_defunct(text=text), signature=sig))
    except Exception as exc:  # eth_keys raises several types for a malformed signature
        raise SignatureInvalid("the signature cannot be verified") from exc


def address_is_valid(value: str) -> bool:
    return bool(value) and is_address(value)


def address_checksum(value: str) -> str:
    return to_checksum_address(value)
