"""Recovering who signed a message (EIP-191 personal_sign, EIP-712 typed data) and checking addresses:
cryptography only."""

from __future__ import annotations

import re
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
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


def typed_data_signer(*, typed_data: dict[str, Any], signature: str) -> str:
    """The checksum address whose key made an EIP-712 `eth_signTypedData_v4` signature over `typed_data`
    (the full message: types, primaryType, domain and message)."""
    sig = (signature or "").strip()
    if not re.fullmatch(r"0x[0-9a-fA-F]{130}", sig):
        raise SignatureInvalid("the signature is not 65 bytes of hex")
    try:
        signable = encode_typed_data(full_message=typed_data)
        return to_checksum_address(Account.recover_message(signable, signature=sig))
    except Exception as exc:  # malformed typed data or signature: several types from eth_account and eth_keys
        raise SignatureInvalid("the signature cannot be verified") from exc


def address_is_valid(value: str) -> bool:
    return bool(value) and is_address(value)


def address_checksum(value: str) -> str:
    return to_checksum_address(value)
