"""Reinvesting a net distribution: whole new tokens at the declared price, the rest in cash.

Tokens are whole units (the token has no decimals: one unit is one token, as the offering prices it), so
a holder whose net is not a multiple of the price receives the remainder, below one token's price, in
cash. Exact integer arithmetic on minor units: units × price + cash = net, and 0 ≤ cash < price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReinvestmentSplit:
    units: int
    cash_minor: int


def reinvestment_split(*, net_minor: int, price_minor: int) -> ReinvestmentSplit:
    if price_minor <= 0:
        raise ValueError("the reinvestment price is above zero")
    if net_minor < 0:
        raise ValueError("a net amount is never negative")
    units, cash = divmod(net_minor, price_minor)
    return ReinvestmentSplit(units=units, cash_minor=cash)
