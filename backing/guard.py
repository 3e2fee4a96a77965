"""Proof of reserve before signing: a mint that the latest approved, fresh attestation does not back is
refused with a reason the issuer can read (the Chainlink Secure Mint rule: supply after the mint must not
exceed what the reserve backs, and the report must not be older than the limit).

Every mint the portal asks for goes through `tokens.services`, which calls the guards registered with it
before it writes the mint's outbox row; backing registers `token_mint_guard` at start-up, so tokens never
imports backing and no mint path can forget the check.
"""

from __future__ import annotations

from backing.selectors import MintAllowance, backing_mint_allowance
from core.errors import ApplicationError
from offerings.models import Offering
from tokens.services import CHAIN_TRANSIENT_ERRORS

OWNER_REF_PREFIX = "offering:"


def backing_mint_check(*, offering: Offering, units: int) -> MintAllowance:
    """Refuse (ApplicationError) a mint of `units` that reserves do not back; a token without a rule passes."""
    try:
        allowance = backing_mint_allowance(offering=offering)
    except CHAIN_TRANSIENT_ERRORS as exc:
        raise ApplicationError(
            f"{offering.token_symbol}'s supply cannot be read from the chain just now, so the mint cannot be checked "
            "against its reserves and does not go ahead. Try again in a few minutes.",
            code="backing_supply_unreadable",
        ) from exc
    if not allowance.guarded:
        return allowance
    assert allowance.units is not None
    if allowance.units == 0 and (allowance.stale or allowance.supply is None):
        raise ApplicationError(f"{offering.token_symbol}: {allowance.reason}", code="backing_no_fresh_attestation")
    if units > allowance.units:
        raise ApplicationError(
            f"Minting {units:,} {offering.token_symbol} would exceed the attested reserves. {allowance.reason} "
            f"Mint at most {allowance.units:,}, or enter a newer attestation that shows more reserves and have a "
            "second admin approve it.",
            code="backing_exceeds_reserves",
        )
    return allowance


def token_mint_guard(owner_ref: str, units: int) -> None:
    """The hook tokens calls before any mint: the owner reference names an offering's token."""
    if not owner_ref.startswith(OWNER_REF_PREFIX):
        return
    offering = Offering.objects.filter(pk=int(owner_ref.removeprefix(OWNER_REF_PREFIX))).first()
    if offering is not None:
        backing_mint_check(offering=offering, units=units)
