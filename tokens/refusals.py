"""Contract refusals said in words an issuer can act on, for the errors the portal explains.

The outbox records a revert's custom error by name and arguments (tokens/chain/errors.py); for the
errors below it also records this sentence as the transaction's reason. Amounts are base units of
the token or of the reserve feed, as the contract reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


def moment(seconds: object) -> str:
    return datetime.fromtimestamp(int(str(seconds)), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: object) -> str:
    value = int(str(seconds))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if value >= size and value % size == 0:
            count = value // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{value} seconds"


def _units(value: object) -> str:
    return f"{int(str(value)):,}"


_REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    # SecurityToken: a partial freeze beyond the wallet's balance (its units moved away since the request).
    "FreezeExceedsBalance": lambda a: (
        f"{a['wallet']} holds {_units(a['balance'])} units, fewer than the {_units(a['frozen'])} that would then "
        "be frozen in it: its units moved since the request was checked."
    ),
    # ReserveGuardedMinter: the Secure Mint checks.
    "ReserveExceeded": lambda a: (
        f"Not minted: the supply would become {_units(a['supplyAfter'])} units, but the latest attested "
        f"reserve (report {a['roundId']}: {_units(a['reserve'])}) backs only {_units(a['backedSupply'])}. "
        "Publish an attestation of more reserves, or mint less."
    ),
    "ReserveStale": lambda a: (
        f"Not minted: the latest reserve attestation (report {a['roundId']}) is as of {moment(a['updatedAt'])}, "
        f"older than the {duration(a['stalenessLimit'])} this token allows. Publish a new attestation first."
    ),
    "NoReserveReport": lambda a: (
        "Not minted: no reserve attestation has been published to this token's reserve feed yet. Publish one first."
    ),
    "NegativeReserve": lambda a: (
        f"The reserve feed reports a negative reserve ({_units(a['answer'])}): nothing is minted against it."
        if "feed" in a
        else f"A reserve cannot be negative ({_units(a['answer'])})."
    ),
    # ReserveFeed: what an attestor may publish.
    "ReserveTooLarge": lambda a: f"The reserve {_units(a['answer'])} is beyond what the feed can hold.",
    "AsOfInFuture": lambda a: (
        f"The attestation is dated {moment(a['asOf'])}, after the block that would publish it "
        f"({moment(a['blockTime'])}): an attestation speaks for a moment that has passed."
    ),
    "AsOfBeforeLatest": lambda a: (
        f"The attestation is as of {moment(a['asOf'])}, before the one already published "
        f"({moment(a['latestAsOf'])}): the feed never goes back in time."
    ),
    "InvalidBackingRatio": lambda a: (
        f"The backing ratio {a['numerator']}/{a['denominator']} is refused: both must be whole numbers "
        "from 1 to 2^128-1."
    ),
    "InvalidStalenessLimit": lambda a: (
        f"The staleness limit of {a['stalenessLimit']} seconds is refused: it must be above zero."
    ),
}


def refusal_reason(name: str, args: Mapping[str, Any]) -> str | None:
    """The sentence for a decoded custom error, or None for errors without one."""
    reason = _REASONS.get(name)
    if reason is None:
        return None
    try:
        return reason(args)
    except (KeyError, ValueError):  # an error of that name from another contract, with other arguments
        return None
