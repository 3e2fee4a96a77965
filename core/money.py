"""Money as an integer count of minor units plus an ISO 4217 code; exact splitting of amounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Minor-unit exponents for the currencies the portal accepts (ISO 4217).
CURRENCY_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "USDC": 2}


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money amounts are whole minor units (int).")
        if self.currency not in CURRENCY_EXPONENTS:
            raise ValueError(f"Unsupported currency {self.currency!r}.")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __str__(self) -> str:
        exponent = CURRENCY_EXPONENTS[self.currency]
        sign = "-" if self.minor < 0 else ""
        whole, fraction = divmod(abs(self.minor), 10**exponent)
        text = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
        return f"{sign}{text} {self.currency}"


def allocate_largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to integer `weights` so the parts sum exactly to `total`.

    Each part gets the floor of its exact share; the units left over go one each to the
    largest remainders (ties to the earlier position), so no unit is created or lost.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a non-zero total over zero weights")
        return [0] * len(weights)
    parts: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        parts.append(share)
        remainders.append((-remainder, index))
    left = total - sum(parts)
    for _, index in sorted(remainders)[:left]:
        parts[index] += 1
    return parts
