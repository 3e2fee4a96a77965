"""Who signs the portal's transactions. The key never reaches the database, the logs or settings.

Web processes know only the senders' addresses (`sender_address`, from the CHAIN_SENDERS
setting). A private key is read from the environment here, in a worker, when a transaction is
signed: `CHAIN_<ROLE>_SIGNER_KEY`, else `CHAIN_SIGNER_KEY`, else (local chains only) the
published development key. A process that never called `signing_enable()` refuses to sign.

The agent pool (`agent_pool`, from CHAIN_AGENT_POOL) is more addresses that hold the agent role of
the tokens and of the registry, each its own nonce stream; their keys are the comma-separated
`CHAIN_AGENT_POOL_SIGNER_KEYS` (local chains: CHAIN_DEV_POOL_SIGNER_KEYS), matched by address.

`LocalKeySigner` signs in-process with eth_account (coincurve makes it fast); another class
with the same two members (a remote signer, a KMS) can be named in CHAIN_SIGNER_CLASS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from eth_account import Account
from eth_utils import to_checksum_address

ROLES = ("registry", "agent", "treasury", "attestor")
POOL = "agent pool"  # the role name shown for a pool address


@dataclass(frozen=True)
class SignedTx:
    raw: bytes
    hash: str


class Signer(Protocol):
    address: str

    def sign(self, tx: dict[str, Any]) -> SignedTx: ...


class SigningNotAllowed(RuntimeError):
    """This process is not a worker: it knows addresses, never keys."""


class SenderKeyMissing(Exception):
    """No key here signs as the sender a transaction was recorded with (a key was rotated)."""


class LocalKeySigner:
    def __init__(self, private_key: str) -> None:
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address

    def __repr__(self) -> str:  # never the key
        return f"LocalKeySigner({self.address})"

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw=bytes(signed.raw_transaction), hash="0x" + bytes(signed.hash).hex())


_signing = {"enabled": False}


def signing_enable() -> None:
    """Called when a worker process starts (tokens/apps.py) and by commands that sign in-process."""
    _signing["enabled"] = True


def signing_disable() -> None:
    _signing["enabled"] = False


@contextmanager
def signing_allowed() -> Iterator[None]:
    """Sign in this process for a while (tests and commands that run the pipeline themselves)."""
    before = _signing["enabled"]
    _signing["enabled"] = True
    try:
        yield
    finally:
        _signing["enabled"] = before


def sender_address(role: str = "agent") -> str:
    """The address that sends a role's transactions. Safe anywhere: it loads no key."""
    address = settings.CHAIN_SENDERS.get(role, "")
    if not address:
        raise SenderKeyMissing(f"No sender address is configured for the {role} role (CHAIN_SENDERS).")
    return to_checksum_address(address)


def agent_pool() -> list[str]:
    """The further agent senders, in the order configured, without the role senders themselves."""
    own = {(a or "").lower() for a in settings.CHAIN_SENDERS.values()}
    pool: list[str] = []
    for address in getattr(settings, "CHAIN_AGENT_POOL", []):
        checksummed = to_checksum_address(address)
        if checksummed.lower() not in own and checksummed not in pool:
            pool.append(checksummed)
    return pool


def sender_roles(address: str) -> list[str]:
    wanted = address.lower()
    roles = [role for role in ROLES if (settings.CHAIN_SENDERS.get(role) or "").lower() == wanted]
    if not roles and wanted in {a.lower() for a in agent_pool()}:
        roles.append(POOL)
    return roles


@cache
def _build(class_path: str, key: str) -> Signer:
    cls = import_string(class_path)
    return cls(key)


def _key(role: str) -> str:
    return str(
        os.environ.get(f"CHAIN_{role.upper()}_SIGNER_KEY")
        or os.environ.get("CHAIN_SIGNER_KEY")
        or getattr(settings, "CHAIN_DEV_SIGNER_KEY", "")
    )


def _pool_signer(sender: str) -> Signer:
    keys = os.environ.get("CHAIN_AGENT_POOL_SIGNER_KEYS") or ",".join(
        getattr(settings, "CHAIN_DEV_POOL_SIGNER_KEYS", [])
    )
    for key in filter(None, (k.strip() for k in keys.split(","))):
        signer = _build(settings.CHAIN_SIGNER_CLASS, key)
        if signer.address.lower() == sender.lower():
            return signer
    raise SenderKeyMissing(
        f"{sender} is in the agent pool (CHAIN_AGENT_POOL) but no key in CHAIN_AGENT_POOL_SIGNER_KEYS signs as it."
    )


def signer_for(sender: str) -> Signer:
    """The signer for a transaction recorded with `sender`; never one that would sign as another address."""
    if not _signing["enabled"]:
        raise SigningNotAllowed("Signing keys are loaded only in worker processes.")
    roles = sender_roles(sender)
    if not roles:
        now = ", ".join(f"{r} → {settings.CHAIN_SENDERS.get(r) or 'none'}" for r in ROLES)
        raise SenderKeyMissing(
            f"No role sends as {sender} any more ({now}): its key was rotated, so this transaction is not signed."
        )
    if roles == [POOL]:
        return _pool_signer(sender)
    for role in roles:
        key = _key(role)
        if not key:
            raise SenderKeyMissing(f"No signing key is set for the {role} role ({sender}).")
        signer = _build(settings.CHAIN_SIGNER_CLASS, key)
        if signer.address.lower() != sender.lower():
            raise SenderKeyMissing(
                f"The {role} key now signs as {signer.address}, not as {sender}, the sender this transaction "
                "was recorded with: the key was rotated, so it is not signed."
            )
        return signer
    raise AssertionError("unreachable")
