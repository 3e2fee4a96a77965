"""Sign-In with Ethereum (EIP-4361) messages: written by the portal, signed in the browser.

The signature itself is checked by the chain layer (tokens.chain.signatures, through tokens.selectors).
Not the `siwe` package: its latest release (4.4.0) requires web3<8 and eth-account<0.14, older than ours.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tokens.selectors import SignatureInvalid, address_checksum, address_is_valid, personal_sign_signer

__all__ = ["SignatureInvalid", "SiweMessage", "recover_signer"]

STATEMENT = "Link this wallet to my Tessera investor account. This request does not move funds or cost gas."
_FIELD = re.compile(r"^(URI|Version|Chain ID|Nonce|Issued At|Expiration Time): (.+)$")


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: dt.datetime
    expiration_time: dt.datetime
    statement: str = STATEMENT
    version: str = "1"

    def text(self) -> str:
        """The message in the exact layout of EIP-4361, which wallets display and sign."""
        return (
            f"{self.domain} wants you to sign in with your Ethereum account:\n"
            f"{self.address}\n"
            f"\n"
            f"{self.statement}\n"
            f"\n"
            f"URI: {self.uri}\n"
            f"Version: {self.version}\n"
            f"Chain ID: {self.chain_id}\n"
            f"Nonce: {self.nonce}\n"
            f"Issued At: {_iso(self.issued_at)}\n"
            f"Expiration Time: {_iso(self.expiration_time)}"
        )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checksum_address(value: str) -> str:
    """EIP-55 form of an address; ValueError when it is not a 20-byte hex address."""
    value = (value or "").strip()
    if not address_is_valid(value):
        raise ValueError("not an Ethereum address")
    if value != value.lower() and value[2:] != value[2:].upper() and address_checksum(value) != value:
        raise ValueError("the address's mixed-case checksum is wrong (a mistyped character?)")
    return address_checksum(value)


def message_nonce(text: str) -> str | None:
    """The nonce line of a message, or None when the text is not laid out as EIP-4361."""
    lines = text.split("\n")
    if len(lines) < 7 or not lines[0].endswith(" wants you to sign in with your Ethereum account:"):
        return None
    for line in lines:
        match = _FIELD.match(line)
        if match and match[1] == "Nonce":
            return match[2].strip()
    return None


def recover_signer(*, text: str, signature: str) -> str:
    """The checksum address whose key made an EIP-191 `personal_sign` signature over `text`."""
    return personal_sign_signer(text=text, signature=signature)
