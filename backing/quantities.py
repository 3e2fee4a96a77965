"""Reserve quantities as exact integers: amounts counted in 10^-scale of a declared unit, and the backing
ratio as a fraction of those counts per token unit. No float, no Decimal in the arithmetic.

A reserve of R counts backs floor(R × d / n) token units at n/d counts per unit; n units need
ceil(n × num / den) counts. Both are computed with integer division only.
"""

from __future__ import annotations

import re
from fractions import Fraction

from backing.models import MAX_UNIT_SCALE

# Far above any real reserve, and small enough that products with a ratio still fit PostgreSQL's bigint
# where they are stored (the products themselves are Python integers).
MAX_RESERVE_AMOUNT = 10**18 - 1
MAX_RATIO_TERM = 10**18
_PLAIN_DECIMAL = re.compile(r"(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?", re.ASCII)
_FRACTION = re.compile(r"(?P<num>[0-9]+)\s*/\s*(?P<den>[0-9]+)", re.ASCII)
_DECORATION = re.compile(r"[,\s]")
UNIT_CODE = re.compile(r"[A-Za-z][A-Za-z0-9 .]{0,11}", re.ASCII)


class QuantityInvalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def units_backed(*, reserve: int, numerator: int, denominator: int) -> int:
    """Token units a reserve of `reserve` counts backs at numerator/denominator counts per unit (rounded down)."""
    if numerator <= 0 or denominator <= 0:
        raise ValueError("the ratio's terms must be positive")
    if reserve <= 0:
        return 0
    return (reserve * denominator) // numerator


def reserve_required(*, units: int, numerator: int, denominator: int) -> int:
    """Counts of reserve that `units` token units need (rounded up: a part of a count is still needed)."""
    if numerator <= 0 or denominator <= 0:
        raise ValueError("the ratio's terms must be positive")
    if units <= 0:
        return 0
    return -((-units * numerator) // denominator)


def amount_parse(text: object, *, scale: int, label: str = "amount") -> int:
    """Decimal text in the unit ("1,250,000.50") to exact counts of 10^-scale; extra decimals are refused."""
    raw = text.strip() if isinstance(text, str) else ""
    if len(raw) > 40:
        raise QuantityInvalid(f"The {label} is too long.")
    cleaned = _DECORATION.sub("", raw)
    if cleaned.startswith("-"):
        raise QuantityInvalid(f"The {label} cannot be negative.")
    match = _PLAIN_DECIMAL.fullmatch(cleaned)
    if match is None or not (match["whole"] or match["fraction"]):
        raise QuantityInvalid(f"Enter the {label} as a number, like 1000 or 1000.5.")
    whole, fraction = match["whole"] or "0", match["fraction"] or ""
    if fraction[scale:].strip("0"):
        raise QuantityInvalid(f"The {label} has more than {scale} decimal places, which this reserve does not count.")
    counts = int(whole) * 10**scale + int(fraction[:scale].ljust(scale, "0") or "0")
    if counts > MAX_RESERVE_AMOUNT:
        raise QuantityInvalid(f"The {label} is too large.")
    return counts


def ratio_parse(text: object, *, scale: int) -> tuple[int, int]:
    """Reserve per token unit, typed in the unit ("1.00", "0.5", or a fraction "1/3"), to (numerator,
    denominator) counts of 10^-scale per unit, reduced. Zero is refused: a token backed by nothing needs no rule."""
    raw = _DECORATION.sub("", text.strip()) if isinstance(text, str) else ""
    if not raw or len(raw) > 40:
        raise QuantityInvalid("Enter the reserve per token as a number like 1.00, or a fraction like 1/3.")
    fraction_match = _FRACTION.fullmatch(raw)
    decimal_match = _PLAIN_DECIMAL.fullmatch(raw)
    if fraction_match is not None:
        if int(fraction_match["den"]) == 0:
            raise QuantityInvalid("The fraction's denominator cannot be zero.")
        value = Fraction(int(fraction_match["num"]), int(fraction_match["den"]))
    elif decimal_match is not None and (decimal_match["whole"] or decimal_match["fraction"]):
        fraction = decimal_match["fraction"] or ""
        value = Fraction(int((decimal_match["whole"] or "0") + fraction), 10 ** len(fraction))
    else:
        raise QuantityInvalid("Enter the reserve per token as a number like 1.00, or a fraction like 1/3.")
    counts = value * 10**scale
    if counts <= 0:
        raise QuantityInvalid("The reserve per token must be more than zero.")
    if counts.numerator > MAX_RATIO_TERM or counts.denominator > MAX_RATIO_TERM:
        raise QuantityInvalid("The reserve per token is too large or too finely divided.")
    return counts.numerator, counts.denominator


def scale_check(scale: object) -> int:
    if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= MAX_UNIT_SCALE:
        raise QuantityInvalid(f"The decimal places counted must be a whole number from 0 to {MAX_UNIT_SCALE}.")
    return scale


def amount_text(amount: int, *, scale: int) -> str:
    """Counts back to the unit, every counted decimal shown ("1,250,000.00")."""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**scale)
    return f"{sign}{whole:,}" + (f".{part:0{scale}d}" if scale else "")


def ratio_text(*, numerator: int, denominator: int, scale: int) -> str:
    """numerator/denominator counts per unit in the unit: an exact decimal with at least the counted places when
    it terminates ("10.00", "0.005"), else a fraction ("1/3")."""
    value = Fraction(numerator, denominator) / 10**scale
    for places in range(scale, scale + 19):
        scaled = value * 10**places
        if scaled.denominator == 1:
            whole, part = divmod(int(scaled), 10**places)
            return f"{whole:,}" + (f".{part:0{places}d}" if places else "")
    return f"{value.numerator}/{value.denominator}"


def units_at_nav(*, amount_minor: int, nav_per_unit: int, nav_scale: int, currency_exponent: int) -> tuple[int, int]:
    """Forward pricing: the whole units `amount_minor` buys at a NAV of `nav_per_unit` counts of 10^-nav_scale
    per unit (rounded down: no part unit is issued), and what those units cost in minor units (rounded up, so no
    unit is issued below its NAV). The cost never exceeds the amount; the rest is paid back."""
    if nav_per_unit <= 0:
        raise ValueError("the NAV must be positive")
    if amount_minor <= 0:
        return 0, 0
    # amount / 10^e of the currency buys (amount / 10^e) / (nav / 10^s) units: amount·10^s / (nav·10^e).
    per_unit = nav_per_unit * 10**currency_exponent
    units = (amount_minor * 10**nav_scale) // per_unit
    cost = -((-units * per_unit) // 10**nav_scale)
    return units, cost


def units_value_minor(*, units: int, nav_per_unit: int, nav_scale: int, currency_exponent: int) -> int:
    """What `units` are worth at the NAV, in minor units of the currency (rounded down)."""
    return (units * nav_per_unit * 10**currency_exponent) // 10**nav_scale


def nav_from_feed(*, answer: int, feed_decimals: int, scale: int) -> int:
    """An oracle's answer (counts of 10^-feed_decimals) in the NAV's declared scale, exactly: the same number, with
    zeros added. A feed with more decimals than the NAV is refused, since dropping them would change the NAV."""
    if feed_decimals > scale:
        raise QuantityInvalid(
            f"The oracle answers to {feed_decimals} decimal places and the NAV is declared to {scale}; its answers "
            "cannot be written in the NAV's places without losing precision."
        )
    return answer * 10 ** (scale - feed_decimals)
