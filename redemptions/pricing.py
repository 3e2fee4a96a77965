"""The arithmetic of a dealing day, in integers only: the gate's pro-rata split and each line's gross, fee and net.

- The gate lets through at most `gate_bps` of the supply at the cut-off, rounded down to whole units. When the
  requests ask for more, each request is scaled to its pro-rata share of what the gate lets through by the
  largest-remainder method (core.money), so the accepted units sum exactly to the gate and no request gets more
  than it asked for; ties go to the earlier request.
- A line's gross is its accepted units at the dealing day's NAV, rounded down to the minor unit (a holder is
  never paid a fraction the fund does not hold); its fee is `fee_bps` of the gross rounded half up; its net is
  the gross less the fee, so gross = fee + net exactly on every line and in total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.money import CURRENCY_EXPONENTS, allocate_largest_remainder

BPS = 10_000


def gate_limit(*, supply: int, gate_bps: int | None) -> int | None:
    """Units the gate lets through at a dealing day, or None without a gate."""
    if gate_bps is None:
        return None
    return supply * gate_bps // BPS


def gate_split(*, requested: Sequence[int], limit: int | None) -> list[int]:
    """Units accepted per request: all of them within the limit, else pro rata by largest remainder."""
    if any(q <= 0 for q in requested):
        raise ValueError("every request asks for at least one unit")
    total = sum(requested)
    if limit is None or total <= limit:
        return list(requested)
    return allocate_largest_remainder(max(limit, 0), list(requested))


@dataclass(frozen=True)
class LineAmounts:
    gross_minor: int
    fee_minor: int
    net_minor: int


def gross_minor_of(*, units: int, nav_per_unit: int, nav_scale: int, currency: str) -> int:
    """Units × NAV in minor units of the currency, rounded down (NAV: 10^-nav_scale currency units per unit)."""
    exponent = CURRENCY_EXPONENTS[currency]
    return units * nav_per_unit * 10**exponent // 10**nav_scale


def fee_minor_of(*, gross_minor: int, fee_bps: int) -> int:
    """`fee_bps` of the gross, rounded half up to the minor unit."""
    return (gross_minor * fee_bps + BPS // 2) // BPS


def line_amounts(*, units: int, nav_per_unit: int, nav_scale: int, currency: str, fee_bps: int) -> LineAmounts:
    gross = gross_minor_of(units=units, nav_per_unit=nav_per_unit, nav_scale=nav_scale, currency=currency)
    fee = fee_minor_of(gross_minor=gross, fee_bps=fee_bps)
    return LineAmounts(gross_minor=gross, fee_minor=fee, net_minor=gross - fee)


def nav_text(*, nav_per_unit: int, nav_scale: int) -> str:
    """A NAV as its exact decimal (never through a float)."""
    if nav_scale == 0:
        return str(nav_per_unit)
    whole, fraction = divmod(nav_per_unit, 10**nav_scale)
    return f"{whole:,}.{fraction:0{nav_scale}d}"


def nav_parse(text: str, *, scale: int) -> int:
    """A decimal NAV typed by a person ("1.02345678") as an integer of 10^-scale units; refuses more decimals."""
    cleaned = (text or "").strip().replace(",", "")
    whole, dot, fraction = cleaned.partition(".")
    if not whole.isdigit() or (dot and not fraction.isdigit()) or len(fraction) > scale:
        raise ValueError(f"Enter the NAV per unit as a number with at most {scale} decimal places.")
    value = int(whole) * 10**scale + int((fraction + "0" * scale)[:scale] or 0)
    if value <= 0:
        raise ValueError("The NAV per unit must be above zero.")
    return value
