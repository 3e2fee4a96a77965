"""Who signs the portal's transactions. The key never reaches the database or the logs.

`LocalKeySigner` signs in-process with eth_account (coincurve makes it fast); another class
with the same two members (a remote signer, a KMS) can be named in CHAIN_SIGNER_CLASS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from eth_account import Account


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    hash: str


class Signer(Protocol):
    address: str

    def sign(self, tx: dict[str, Any]) -> SignedTx: ...


class LocalKeySigner:
    def __init__(self, private_key: str) -> None:
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address

    def __repr__(self) -> str:  # never the key
        return f"LocalKeySigner({self.address})"

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw=bytes(signed.raw_transaction), hash="0x" + bytes(signed.hash).hex())


@cache
def _build(class_path: str, key: str) -> Signer:
    cls = import_string(class_path)
    return cls(key)


def portal_signer() -> Signer:
    return _build(settings.CHAIN_SIGNER_CLASS, settings.CHAIN_SIGNER_KEY)
