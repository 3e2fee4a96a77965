"""A dealing day's arithmetic: the gate's pro-rata split is exact and fair, and each line's gross, fee and net are
exact to the minor unit at any NAV and scale."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redemptions.pricing import (
    fee_minor_of,
    gate_limit,
    gate_split,
    gross_minor_of,
    line_amounts,
    nav_parse,
    nav_text,
)

requests = st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=60)


def test_within_the_gate_every_request_is_accepted_whole() -> None:
    assert gate_split(requested=[100, 50, 1], limit=151) == [100, 50, 1]
    assert gate_split(requested=[100, 50, 1], limit=None) == [100, 50, 1]


def test_over_the_gate_the_requests_are_scaled_to_exactly_the_gate() -> None:
    # 10% of 1,000 units: 100 may go; asked 120, 60 and 20 (200): half of each.
    limit = gate_limit(supply=1_000, gate_bps=1_000)
    assert limit == 100
    assert gate_split(requested=[120, 60, 20], limit=limit) == [60, 30, 10]


def test_the_unit_left_over_goes_to_the_largest_remainder_then_the_earlier_request() -> None:
    # 10 units over three equal requests: 3.33 each, the one left goes to the first.
    assert gate_split(requested=[5, 5, 5], limit=10) == [4, 3, 3]
    # 7 × 3/4 = 5.25 and 7 × 1/4 = 1.75: the second request's remainder is larger.
    assert gate_split(requested=[30, 10], limit=7) == [5, 2]


def test_a_gate_of_one_basis_point_on_a_small_supply_lets_nothing_through() -> None:
    assert gate_limit(supply=9_999, gate_bps=1) == 0
    assert gate_split(requested=[3, 4], limit=0) == [0, 0]


@settings(max_examples=300, deadline=None)
@given(requested=requests, share=st.fractions(min_value=0, max_value=1))
def test_the_gate_split_sums_to_the_gate_and_each_part_is_its_exact_share_within_one_unit(
    requested: list[int], share: Fraction
) -> None:
    total = sum(requested)
    limit = int(total * share)
    parts = gate_split(requested=requested, limit=limit)
    assert sum(parts) == min(limit, total)
    for asked, part in zip(requested, parts, strict=True):
        assert 0 <= part <= asked
        if limit < total:
            exact = Fraction(limit * asked, total)
            assert exact - 1 < part < exact + 1


@settings(max_examples=200, deadline=None)
@given(requested=requests, limit=st.integers(min_value=0, max_value=10**10))
def test_the_gate_split_does_not_depend_on_anything_but_the_requests_and_their_order(
    requested: list[int], limit: int
) -> None:
    assert gate_split(requested=requested, limit=limit) == gate_split(requested=list(requested), limit=limit)


def test_gross_is_units_at_the_nav_rounded_down_to_the_cent() -> None:
    # 1.02345678 USD a unit (scale 8): 150 units are 153.518517 USD → 153.51.
    assert gross_minor_of(units=150, nav_per_unit=1_02345678, nav_scale=8, currency="USD") == 153_51
    # A currency without minor units: 7 units at 1,234.5 JPY → 8,641 JPY.
    assert gross_minor_of(units=7, nav_per_unit=12345, nav_scale=1, currency="JPY") == 8_641


def test_the_fee_is_rounded_half_up_and_gross_is_always_fee_plus_net() -> None:
    # 25 bps of 153.51 = 0.383775 → 0.38; of 2.00 = 0.005 → 0.01 (half up).
    assert fee_minor_of(gross_minor=153_51, fee_bps=25) == 38
    assert fee_minor_of(gross_minor=2_00, fee_bps=25) == 1
    amounts = line_amounts(units=150, nav_per_unit=1_02345678, nav_scale=8, currency="USD", fee_bps=25)
    assert (amounts.gross_minor, amounts.fee_minor, amounts.net_minor) == (153_51, 38, 153_13)


@settings(max_examples=300, deadline=None)
@given(
    units=st.integers(min_value=0, max_value=10**12),
    nav=st.integers(min_value=1, max_value=10**14),
    scale=st.integers(min_value=0, max_value=18),
    fee_bps=st.integers(min_value=0, max_value=10_000),
    currency=st.sampled_from(["USD", "EUR", "JPY", "GBP"]),
)
def test_line_amounts_are_exact_to_the_minor_unit(
    units: int, nav: int, scale: int, fee_bps: int, currency: str
) -> None:
    from core.money import CURRENCY_EXPONENTS

    amounts = line_amounts(units=units, nav_per_unit=nav, nav_scale=scale, currency=currency, fee_bps=fee_bps)
    exact_gross = Fraction(units * nav * 10 ** CURRENCY_EXPONENTS[currency], 10**scale)
    assert exact_gross - 1 < amounts.gross_minor <= exact_gross
    exact_fee = Fraction(amounts.gross_minor * fee_bps, 10_000)
    assert abs(amounts.fee_minor - exact_fee) <= Fraction(1, 2)
    assert amounts.gross_minor == amounts.fee_minor + amounts.net_minor
    assert amounts.net_minor >= 0


def test_a_nav_typed_by_a_person_is_read_exactly_and_refused_with_too_many_decimals() -> None:
    assert nav_parse("1.02345678", scale=8) == 1_02345678
    assert nav_parse("1,000.5", scale=8) == 1_000_50000000
    assert nav_text(nav_per_unit=1_02345678, nav_scale=8) == "1.02345678"
    with pytest.raises(ValueError, match="at most 8 decimal places"):
        nav_parse("1.023456789", scale=8)
    with pytest.raises(ValueError, match="above zero"):
        nav_parse("0.00", scale=8)
    with pytest.raises(ValueError):
        nav_parse("1e3", scale=8)
