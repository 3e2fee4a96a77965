"""The count is exact: per option the power sums to the power voted, each investor counts once with their
last vote, and the quorum is met exactly when the power voted reaches its share of the total."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.tally import BPS, CastVote, tally_compute

votes = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 4), st.integers(1, 10**15)).map(lambda t: CastVote(*t)),
    max_size=30,
)


# The shared machine can be slow to generate examples; that says nothing about the tally.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(votes=votes, extra=st.integers(0, 10**16), quorum=st.integers(0, BPS))
def test_tallies_sum_to_the_power_voted_and_each_investor_counts_once(votes, extra, quorum) -> None:
    last = {v.investor_id: v for v in votes}
    total = sum(v.power for v in last.values()) + extra
    tally = tally_compute(votes=votes, options=[1, 2, 3, 4], total_power=total, quorum_bps=quorum)

    assert sum(tally.power.values()) == tally.power_voted == sum(v.power for v in last.values())
    assert sum(tally.holders.values()) == tally.holders_voted == len(last)
    for option in (1, 2, 3, 4):
        assert tally.power[option] == sum(v.power for v in last.values() if v.option == option)
    assert tally.quorum_met == (total > 0 and tally.power_voted * BPS >= quorum * total)
    if total:
        assert tally.quorum_met == (tally.power_voted >= tally.quorum_power)


def test_a_quorum_of_a_third_is_met_by_exactly_a_third_and_not_one_unit_less() -> None:
    options = [1, 2]
    exact = tally_compute(votes=[CastVote(1, 1, 1)], options=options, total_power=3, quorum_bps=3_333)
    assert exact.quorum_met  # 1/3 = 33.33…% ≥ 33.33%
    short = tally_compute(votes=[CastVote(1, 1, 3_333)], options=options, total_power=10_001, quorum_bps=3_333)
    assert not short.quorum_met  # 3,333 of 10,001 is 33.3267%
    assert short.quorum_power == 3_334
    assert tally_compute(votes=[], options=options, total_power=0, quorum_bps=0).quorum_met is False
