"""The EIP-712 message a holder signs with a wallet to vote, and the one place it is laid out.

Domain: the portal's name and version, the chain id and the token's address as verifying contract (so a
signature for one token's ballot means nothing on another's or on another chain). Message: the ballot's
public id, the option's position and a nonce (milliseconds since 1970 when the wallet signed; each signed
vote must carry a larger nonce than the last one accepted, so an old signature cannot be replayed)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DOMAIN_NAME = "Tessera"
DOMAIN_VERSION = "1"
PRIMARY_TYPE = "Vote"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Vote": [
        {"name": "ballot", "type": "string"},
        {"name": "option", "type": "uint256"},
        {"name": "optionLabel", "type": "string"},
        {"name": "nonce", "type": "uint256"},
    ],
}


def vote_typed_data(
    *, ballot_id: str, token_address: str, option: int, option_label: str, nonce: int
) -> dict[str, Any]:
    """The full typed-data document (`eth_signTypedData_v4`'s argument)."""
    return {
        "types": TYPES,
        "primaryType": PRIMARY_TYPE,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": int(settings.CHAIN_ID),
            "verifyingContract": token_address,
        },
        "message": {"ballot": ballot_id, "option": option, "optionLabel": option_label, "nonce": nonce},
    }
