"""The split of a distribution: exact to the minor unit for awkward totals, fair to within one unit,
deterministic and independent of the order holders come in; withholding never breaks gross = withheld + net."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distributions.allocation import (
    AllocationError,
    allocate_largest_remainder,
    allocation_compute,
    withheld_of,
)


def _split(total: int, balances: list[int], ids: list[int] | None = None) -> list[int]:
    return list(
        allocate_largest_remainder(total=total, balances=balances, holder_ids=ids or range(1, len(balances) + 1))
    )


def test_a_million_dollars_and_a_cent_over_three_equal_holders_sums_to_the_cent() -> None:
    parts = _split(1_000_000_01, [1, 1, 1])
    assert sum(parts) == 1_000_000_01
    # 33,333,333.67 each, the one cent left over goes to the smallest investor id among equal holders.
    assert parts == [33_333_334, 33_333_334, 33_333_333]


def test_one_cent_over_seven_holders_goes_to_one_of_them() -> None:
    parts = _split(1, [5, 3, 9, 9, 1, 2, 7])
    assert sum(parts) == 1
    # The largest exact share (9/36 of a cent) wins; of the two holding 9, the smaller investor id.
    assert parts == [0, 0, 1, 0, 0, 0, 0]


def test_a_holder_of_one_token_among_millions_gets_their_exact_share_within_a_cent() -> None:
    balances = [1, 4_999_999, 3_000_000, 2_000_000]
    total = 1_234_567_89
    parts = _split(total, balances)
    assert sum(parts) == total
    exact = Fraction(total * 1, sum(balances))  # 12.3456789 cents
    assert parts[0] in (int(exact), int(exact) + 1)
    assert parts[0] == 12


def test_ties_break_by_larger_remainder_then_larger_balance_then_smaller_investor_id() -> None:
    # Remainders: 10 × 2/3 → equal remainders for holders 7 and 3, and holder 5's balance is larger.
    parts = _split(10, [1, 1, 1], ids=[7, 3, 5])
    assert parts == [3, 4, 3]  # one unit left: equal remainders and balances, so the smallest id (3)
    parts = _split(5, [2, 1, 1], ids=[9, 1, 2])
    # 5 × 2/4 = 2.5, 5/4 = 1.25 twice: the largest remainder (holder 9) takes the unit.
    assert parts == [3, 1, 1]


def test_nothing_held_refuses_a_non_zero_total() -> None:
    with pytest.raises(AllocationError):
        _split(100, [0, 0])
    assert _split(0, [0, 0]) == [0, 0]


def test_duplicate_investor_ids_are_refused() -> None:
    with pytest.raises(AllocationError):
        _split(10, [1, 1, 1], ids=[1, 1, 2])


def test_an_amount_per_token_is_exact_and_withholding_adds_up() -> None:
    result = allocation_compute(balances=[3, 10], holder_ids=[1, 2], rates_bps=[3000, 1500], per_unit=33)
    assert list(result.gross) == [99, 330]
    # 99 × 30 % = 29.7 → 30 withheld (half up); 330 × 15 % = 49.5 → 50 withheld.
    assert list(result.withheld) == [30, 50]
    assert list(result.net) == [69, 280]


def test_withholding_rounds_half_a_cent_up() -> None:
    assert withheld_of(gross=5, rate_bps=1000) == 1  # 0.5 → 1
    assert withheld_of(gross=4, rate_bps=1000) == 0  # 0.4 → 0
    assert withheld_of(gross=1_000_000_01, rate_bps=2400) == 24_000_000  # 24,000,000.24 → 24,000,000
    with pytest.raises(AllocationError):
        withheld_of(gross=1, rate_bps=10_001)


holders = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60).filter(lambda b: sum(b) > 0)


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=0, max_value=10**15 - 1), balances=holders, data=st.data())
def test_parts_sum_exactly_and_each_is_within_one_unit_of_its_exact_share(
    total: int, balances: list[int], data: st.DataObject
) -> None:
    ids = data.draw(st.lists(st.integers(1, 10**9), min_size=len(balances), max_size=len(balances), unique=True))
    parts = _split(total, balances, ids)
    assert sum(parts) == total
    eligible = sum(balances)
    for part, balance in zip(parts, balances, strict=True):
        exact = Fraction(total * balance, eligible)
        assert exact - 1 < part < exact + 1
        assert part >= 0


@settings(max_examples=200, deadline=None)
@given(total=st.integers(min_value=0, max_value=10**12), balances=holders, data=st.data())
def test_the_split_is_deterministic_and_does_not_depend_on_the_order_of_holders(
    total: int, balances: list[int], data: st.DataObject
) -> None:
    ids = list(range(100, 100 + len(balances)))
    order = data.draw(st.permutations(range(len(balances))))
    first = dict(zip(ids, _split(total, balances, ids), strict=True))
    assert dict(zip(ids, _split(total, balances, ids), strict=True)) == first
    shuffled = _split(total, [balances[i] for i in order], [ids[i] for i in order])
    assert dict(zip([ids[i] for i in order], shuffled, strict=True)) == first


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=10**15 - 1),
    rows=st.lists(
        st.tuples(st.integers(1, 10**9), st.sampled_from([0, 1000, 1500, 2400, 3000, 10_000])), min_size=1, max_size=50
    ),
)
def test_gross_is_withheld_plus_net_for_every_holder_and_in_total(total: int, rows: list[tuple[int, int]]) -> None:
    balances = [b for b, _ in rows]
    rates = [r for _, r in rows]
    result = allocation_compute(balances=balances, holder_ids=range(1, len(rows) + 1), rates_bps=rates, total=total)
    assert result.total_gross == total
    for g, w, n, r in zip(result.gross, result.withheld, result.net, rates, strict=True):
        assert g == w + n and w >= 0 and n >= 0
        assert abs(Fraction(w) - Fraction(g * r, 10_000)) <= Fraction(1, 2)
    assert result.total_gross == result.total_withheld + result.total_net
