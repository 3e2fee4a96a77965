"""The allowance arithmetic is exact: what a reserve backs, what a supply needs, and the ratio typed in."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backing.quantities import amount_parse, amount_text, ratio_parse, ratio_text, reserve_required, units_backed

reserves = st.integers(min_value=0, max_value=10**18 - 1)
terms = st.integers(min_value=1, max_value=10**12)
supplies = st.integers(min_value=0, max_value=10**15)
# Generation time depends on the machine's load, not on the code under test.
exhaustive = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@exhaustive
@given(reserve=reserves, numerator=terms, denominator=terms, supply=supplies)
def test_the_allowance_is_the_most_units_the_reserve_backs_and_never_one_more(
    reserve: int, numerator: int, denominator: int, supply: int
) -> None:
    backed = units_backed(reserve=reserve, numerator=numerator, denominator=denominator)
    allowance = max(0, backed - supply)
    ratio = Fraction(numerator, denominator)
    if allowance > 0:
        # Minting the whole allowance keeps supply within the reserve; one unit more would not.
        assert (supply + allowance) * ratio <= reserve
        assert (supply + allowance + 1) * ratio > reserve
    else:
        assert (supply + 1) * ratio > reserve
    # Guard and check agree: the reserve covers what the backed units need, and not one unit more.
    assert reserve_required(units=backed, numerator=numerator, denominator=denominator) <= reserve
    assert reserve_required(units=backed + 1, numerator=numerator, denominator=denominator) > reserve


@exhaustive
@given(units=supplies, numerator=terms, denominator=terms)
def test_the_reserve_a_supply_needs_is_rounded_up_to_a_whole_count(
    units: int, numerator: int, denominator: int
) -> None:
    needed = reserve_required(units=units, numerator=numerator, denominator=denominator)
    exact = Fraction(units * numerator, denominator)
    assert needed >= exact > needed - 1 or (units == 0 and needed == 0)


@exhaustive
@given(whole=st.integers(min_value=0, max_value=10**9), cents=st.integers(min_value=0, max_value=99))
def test_a_ratio_typed_in_dollars_is_exact_in_cents(whole: int, cents: int) -> None:
    if whole == 0 and cents == 0:
        return
    numerator, denominator = ratio_parse(f"{whole}.{cents:02d}", scale=2)
    assert Fraction(numerator, denominator) == whole * 100 + cents
    assert ratio_text(numerator=numerator, denominator=denominator, scale=2).replace(",", "") == f"{whole}.{cents:02d}"


@exhaustive
@given(
    p=st.integers(min_value=1, max_value=10**6), q=st.integers(min_value=1, max_value=10**6), scale=st.integers(0, 6)
)
def test_a_fraction_per_token_stays_exact(p: int, q: int, scale: int) -> None:
    numerator, denominator = ratio_parse(f"{p}/{q}", scale=scale)
    assert Fraction(numerator, denominator) == Fraction(p, q) * 10**scale


@exhaustive
@given(amount=reserves, scale=st.integers(min_value=0, max_value=8))
def test_an_amount_shown_reads_back_to_the_same_count(amount: int, scale: int) -> None:
    assert amount_parse(amount_text(amount, scale=scale), scale=scale) == amount


def test_one_unit_is_one_gram_counted_in_milligrams() -> None:
    numerator, denominator = ratio_parse("1", scale=3)
    assert (numerator, denominator) == (1000, 1)
    # 12.5 kg of gold back 12,500 one-gram tokens exactly.
    assert (
        units_backed(reserve=amount_parse("12500.000", scale=3), numerator=numerator, denominator=denominator) == 12_500
    )
