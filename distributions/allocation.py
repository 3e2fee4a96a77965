"""Splitting a distribution among holders, exactly to the minor unit: plain integers, no ORM, no floats.

DESIGN.md, "Money and quantities": allocations that split an amount use the largest-remainder method
(Hamilton) so the parts sum exactly to the whole. Every holder first gets the floor of their exact
share `total × balance / eligible`; the minor units left over (fewer than the number of holders) go
one each to the largest remainders. Ties break deterministically and independently of input order:
larger remainder first, then larger balance, then smaller investor id.

Withholding is a rate in basis points per holder. Rounding rule: the amount withheld is the gross
times the rate, rounded half up to the minor unit (half a cent is withheld, so the withholding agent
never under-withholds by rounding); the net is the gross less what is withheld, so gross = withheld +
net exactly for every holder.

Sized for 1,000,000 holders within seconds and a few tens of megabytes: inputs and outputs are
`array('q')` columns, and only the holders at the cut between "one more unit" and "none" are sorted.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000
# Investor ids are database keys: positive and below 2**63.
_ID_SPAN = 1 << 63


class AllocationError(ValueError):
    """Inputs that cannot be split (negative, mismatched, duplicate ids, nothing to split over)."""


def allocate_largest_remainder(*, total: int, balances: Sequence[int], holder_ids: Sequence[int]) -> array:
    """Each holder's share of `total` in proportion to `balances`, summing exactly to `total`.

    Each part is within one minor unit of the exact share (the floor, or the floor plus one).
    """
    n = len(balances)
    if len(holder_ids) != n:
        raise AllocationError("every balance needs its holder id")
    if total < 0:
        raise AllocationError("the total must not be negative")
    if n and min(balances) < 0:
        raise AllocationError("balances must not be negative")
    eligible = sum(balances)
    if eligible == 0:
        if total:
            raise AllocationError("nothing is held, so nothing can be allocated")
        return array("q", bytes(8 * n))
    parts = array("q", bytes(8 * n))
    remainders: array | list[int] = array("q", bytes(8 * n)) if eligible < 1 << 63 else [0] * n
    given = 0
    for i in range(n):
        share, remainders[i] = divmod(total * balances[i], eligible)
        parts[i] = share
        given += share
    left = total - given  # fewer than the holders with a remainder: each remainder is below `eligible`
    if not left:
        return parts
    _ids_check(holder_ids)
    # The `left` largest remainders get one unit each. Find the cut without sorting everyone: count the
    # remainders in 2**16 buckets by their leading bits, walk down from the top bucket, and order only the
    # bucket the cut falls in by the full tie-break.
    shift = max(eligible.bit_length() - 16, 0)
    counts = [0] * ((eligible >> shift) + 1)
    for r in remainders:
        counts[r >> shift] += 1
    above, cut = 0, len(counts) - 1
    while above + counts[cut] < left:
        above += counts[cut]
        cut -= 1
    span = eligible + 1
    # Larger remainder, then larger balance, then smaller investor id, then position, as one integer.
    keys = [
        (((remainders[i] * span + balances[i]) << 63) + (_ID_SPAN - 1 - holder_ids[i])) * n + i
        for i in range(n)
        if remainders[i] >> shift == cut
    ]
    keys.sort(reverse=True)
    for key in keys[: left - above]:
        parts[key % n] += 1
    del keys
    for i in range(n):
        if remainders[i] >> shift > cut:
            parts[i] += 1
    return parts


def _ids_check(holder_ids: Sequence[int]) -> None:
    """Ids must be unique 63-bit keys, or the tie-break would depend on the order holders come in."""
    previous = -1
    for holder in holder_ids:
        if holder <= previous:
            break
        previous = holder
    else:
        if previous < _ID_SPAN:
            return  # strictly increasing, as the register passes them
    if min(holder_ids) < 0 or max(holder_ids) >= _ID_SPAN:
        raise AllocationError("holder ids must be positive 64-bit integers")
    if len(set(holder_ids)) != len(holder_ids):
        raise AllocationError("holder ids must be unique")


def withheld_of(*, gross: int, rate_bps: int) -> int:
    """What is withheld from one gross amount at `rate_bps`: rounded half up to the minor unit."""
    if not 0 <= rate_bps <= BPS:
        raise AllocationError("a withholding rate lies between 0 and 10,000 basis points")
    return (gross * rate_bps + BPS // 2) // BPS


@dataclass(frozen=True)
class Allocation:
    """Columns in the order of the holders given: gross, withheld and net per holder, and their totals."""

    gross: array
    withheld: array
    net: array

    @property
    def total_gross(self) -> int:
        return sum(self.gross)

    @property
    def total_withheld(self) -> int:
        return sum(self.withheld)

    @property
    def total_net(self) -> int:
        return sum(self.net)


def allocation_compute(
    *,
    balances: Sequence[int],
    holder_ids: Sequence[int],
    rates_bps: Sequence[int],
    total: int | None = None,
    per_unit: int | None = None,
) -> Allocation:
    """Gross per holder (a total split by largest remainder, or an amount per unit held), then withholding."""
    if (total is None) == (per_unit is None):
        raise AllocationError("give either a total or an amount per unit")
    n = len(balances)
    if len(rates_bps) != n:
        raise AllocationError("every balance needs its withholding rate")
    if total is not None:
        gross = allocate_largest_remainder(total=total, balances=balances, holder_ids=holder_ids)
    else:
        assert per_unit is not None
        if per_unit < 0 or (n and min(balances) < 0):
            raise AllocationError("amounts and balances must not be negative")
        gross = array("q", (per_unit * b for b in balances))
    withheld = array("q", bytes(8 * n))
    net = array("q", bytes(8 * n))
    half = BPS // 2
    for i in range(n):
        g = gross[i]
        rate = rates_bps[i]
        if not 0 <= rate <= BPS:
            raise AllocationError("a withholding rate lies between 0 and 10,000 basis points")
        w = (g * rate + half) // BPS
        withheld[i] = w
        net[i] = g - w
    return Allocation(gross=gross, withheld=withheld, net=net)
