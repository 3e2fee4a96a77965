from __future__ import annotations

import random

import pytest

from core.money import Money, allocate_largest_remainder


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
