"""Money as an integer count of minor units plus an ISO 4217 code; exact splitting of amounts;
the one parser that turns typed or imported amounts into minor units.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Minor-unit exponents for the currencies the portal accepts (ISO 4217).
CURRENCY_EXPONENTS: dict[str, int] = {"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "USDC": 2}

# The largest amount any form, API or statement line may carry, in minor units: far above any raise,
# and small enough that sums of many such amounts still fit the 64-bit columns (2**63 - 1).
MAX_AMOUNT_MINOR = 10**15 - 1
# Longer text is refused before it is looked at ("1,000,000,000,000.00" is 20 characters).
_MAX_AMOUNT_CHARS = 40
# Digits with an optional decimal point; ASCII only (no exponents, signs, NaN, Infinity, other scripts' digits).
_PLAIN_DECIMAL = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# What people and banks write inside a number: grouping commas, spaces, a dollar sign.
_DECORATION = re.compile(r"[,\s$]")


class AmountInvalid(ValueError):
    """An amount that is not a plain decimal number within bounds; `message` is for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _exponent(currency: str) -> int:
    exponent = CURRENCY_EXPONENTS.get((currency or "").upper())
    if exponent is None:
        raise AmountInvalid(f"{currency or 'The currency'} is not a currency the portal accepts.")
    return exponent


def amount_parse(
    text: Any, currency: str, *, label: str = "amount", minimum: int = 0, maximum: int = MAX_AMOUNT_MINOR
) -> int:
    """Decimal text in major units ("1,250.00", "$10", "1000") to exact minor units of `currency`.

    Only plain decimal numbers are read: no exponent, sign, NaN or infinity, and no more decimal
    places than the currency has (trailing zeros aside). The work is bounded by the length limit,
    so no input is slow. Raises AmountInvalid with a message naming `label`.
    """
    exponent = _exponent(currency)
    raw = text if isinstance(text, str) else ""
    if len(raw) > _MAX_AMOUNT_CHARS:
        raise AmountInvalid(f"The {label} is too long; enter a number like 1000 or 1000.50.")
    cleaned = _DECORATION.sub("", raw)
    if cleaned.startswith("-"):
        raise AmountInvalid(f"The {label} cannot be negative.")
    match = _PLAIN_DECIMAL.fullmatch(cleaned)
    if match is None or not (match["whole"] or match["fraction"]):
        example = "1000" if exponent == 0 else "1000 or 1000." + "5".ljust(exponent, "0")
        raise AmountInvalid(f"Enter the {label} as a number, like {example}.")
    whole, fraction = match["whole"] or "0", match["fraction"] or ""
    if fraction[exponent:].strip("0"):
        raise AmountInvalid(f"The {label} has more decimal places than {currency.upper()} allows.")
    if len(whole.lstrip("0")) > len(str(MAX_AMOUNT_MINOR)):
        raise AmountInvalid(f"The {label} is too large.")
    minor = int(whole) * 10**exponent + int(fraction[:exponent].ljust(exponent, "0") or "0")
    return amount_bounds_check(minor, currency=currency, label=label, minimum=minimum, maximum=maximum)


def minor_units_parse(
    value: Any, *, currency: str = "", label: str = "amount", minimum: int = 0, maximum: int = MAX_AMOUNT_MINOR
) -> int:
    """A whole count of minor units as an API sends it (a JSON integer, or digits as text)."""
    if isinstance(value, bool):
        raise AmountInvalid(f"The {label} must be a whole number of minor units.")
    if isinstance(value, int):
        minor = value
    elif isinstance(value, str) and len(value) <= _MAX_AMOUNT_CHARS and _DIGITS.fullmatch(value.strip()):
        minor = int(value.strip())
    else:
        raise AmountInvalid(f"The {label} must be a whole number of minor units.")
    return amount_bounds_check(minor, currency=currency, label=label, minimum=minimum, maximum=maximum)


def amount_bounds_check(
    minor: int, *, currency: str, label: str = "amount", minimum: int = 0, maximum: int = MAX_AMOUNT_MINOR
) -> int:
    """`minor` itself, when it lies within [minimum, maximum]; AmountInvalid otherwise."""

    def shown(value: int) -> str:
        code = (currency or "").upper()
        return str(Money(value, code)) if code in CURRENCY_EXPONENTS else f"{value:,} minor units"

    if minor < minimum:
        if minimum <= 0:
            raise AmountInvalid(f"The {label} cannot be negative.")
        if minimum == 1:
            raise AmountInvalid(f"The {label} must be above zero.")
        raise AmountInvalid(f"The {label} must be at least {shown(minimum)}.")
    if minor > maximum:
        raise AmountInvalid(f"The {label} must be at most {shown(maximum)}.")
    return minor


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
        return f"{self._text(grouped=True)} {self.currency}"

    def major_text(self) -> str:
        """The amount as a form shows it back for editing: "5000.50", no separators or code."""
        return self._text(grouped=False)

    def _text(self, *, grouped: bool) -> str:
        exponent = CURRENCY_EXPONENTS[self.currency]
        sign = "-" if self.minor < 0 else ""
        whole, fraction = divmod(abs(self.minor), 10**exponent)
        text = (f"{whole:,}" if grouped else str(whole)) + (f".{fraction:0{exponent}d}" if exponent else "")
        return f"{sign}{text}"


def money_text(minor: int | None, currency: str) -> str:
    """How people read an amount: "25,000.00 USD". Never raises and never shows minor units as major ones."""
    if minor is None:
        return "—"
    code = (currency or "").upper()
    if code not in CURRENCY_EXPONENTS:
        return f"{int(minor):,} minor units of {code or 'an unknown currency'}"
    return str(Money(int(minor), code))


def dollars_text(cents: int) -> str:
    """A dollar figure in cents as people write thresholds: "$10,000,000", cents only when there are some."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}" + (f".{part:02d}" if part else "")


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
