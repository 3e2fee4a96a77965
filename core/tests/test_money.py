from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import (
    CURRENCY_EXPONENTS,
    MAX_AMOUNT_MINOR,
    AmountInvalid,
    Money,
    allocate_largest_remainder,
    amount_parse,
    minor_units_parse,
)
from core.tests.inputs import AMOUNT_TEXT, MINOR_UNITS


def test_parts_always_sum_to_the_whole() -> None:
    rng = random.Random(7)
    for _ in range(500):
        weights = [rng.randint(0, 10**9) for _ in range(rng.randint(1, 40))]
        total = rng.randint(0, 10**12)
        if sum(weights) == 0:
            continue
        parts = allocate_largest_remainder(total, weights)
        assert sum(parts) == total
        assert all(p >= 0 for p in parts)


def test_leftover_units_go_to_the_largest_remainders() -> None:
    # 100 cents over three equal holders: 33.33… each, one cent left for the first.
    assert allocate_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    # 10 over weights 1:2:3:4 is exact.
    assert allocate_largest_remainder(10, [1, 2, 3, 4]) == [1, 2, 3, 4]
    # 7 over 5:3: exact 4.375 / 2.625 → the larger remainder (.625) gets the unit.
    assert allocate_largest_remainder(7, [5, 3]) == [4, 3]


def test_bad_allocations_are_refused() -> None:
    with pytest.raises(ValueError):
        allocate_largest_remainder(5, [0, 0])
    with pytest.raises(ValueError):
        allocate_largest_remainder(-1, [1])


def test_money_is_whole_minor_units_in_one_currency() -> None:
    assert str(Money(123456789, "USD")) == "1,234,567.89 USD"
    assert str(Money(500, "JPY")) == "500 JPY"
    assert Money(150, "USD") + Money(50, "USD") == Money(200, "USD")
    with pytest.raises(ValueError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]  # the point: a float amount is refused


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1,234.56", "USD", 123456),
        ("$10", "USD", 1000),
        ("1000", "JPY", 1000),
        ("100.500", "USD", 10050),
        (".5", "EUR", 50),
    ],
)
def test_plain_decimal_amounts_are_read_exactly(text: str, currency: str, minor: int) -> None:
    assert amount_parse(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e5", "as a number"),
        ("1E+999999999", "as a number"),
        ("NaN", "as a number"),
        ("-Infinity", "negative"),
        ("١٢٣", "as a number"),
        ("0x10", "as a number"),
        ("1.001", "more decimal places than USD allows"),
        ("9" * 20, "too large"),
        ("9" * 41, "too long"),
        ("10000000000000", "at most"),
    ],
)
def test_anything_but_a_plain_decimal_within_bounds_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(AmountInvalid, match=message):
        amount_parse(text, "USD")


@given(minor=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR), currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_a_formatted_amount_reads_back_as_itself(minor: int, currency: str) -> None:
    shown = str(Money(minor, currency)).removesuffix(f" {currency}")
    assert amount_parse(shown, currency) == minor


@given(text=st.one_of(AMOUNT_TEXT, st.text()), currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_any_text_is_an_amount_within_bounds_or_a_clear_refusal(text: str, currency: str) -> None:
    try:
        minor = amount_parse(text, currency)
    except AmountInvalid as exc:
        assert exc.message
    else:
        assert 0 <= minor <= MAX_AMOUNT_MINOR


@given(value=MINOR_UNITS)
def test_api_minor_units_are_whole_numbers_within_bounds(value: object) -> None:
    try:
        minor = minor_units_parse(value, minimum=1)
    except AmountInvalid:
        return
    assert isinstance(minor, int) and 1 <= minor <= MAX_AMOUNT_MINOR
