"""Dealing days fall on business days at the cut-off in the terms' time zone, and the notice period pushes a
request to the first dealing day far enough away."""

from __future__ import annotations

import datetime as dt

import pytest

from redemptions.dealing_days import cutoff_moment, is_dealing_day, next_dealing_day

FOUR_PM = dt.time(16, 0)
NEW_YORK = "America/New_York"


def test_daily_dealing_skips_weekends_and_us_federal_holidays() -> None:
    assert is_dealing_day(dt.date(2026, 7, 2), "daily")  # a Thursday
    assert not is_dealing_day(dt.date(2026, 7, 3), "daily")  # Independence Day observed (Friday)
    assert not is_dealing_day(dt.date(2026, 7, 4), "daily")  # Saturday


def test_weekly_monthly_and_quarterly_dealing_is_the_periods_last_business_day() -> None:
    assert is_dealing_day(dt.date(2026, 7, 2), "weekly")  # Thursday: Friday 3 July is a holiday
    assert not is_dealing_day(dt.date(2026, 7, 1), "weekly")
    assert is_dealing_day(dt.date(2026, 10, 30), "monthly")  # the 31st is a Saturday
    assert not is_dealing_day(dt.date(2026, 10, 29), "monthly")
    assert is_dealing_day(dt.date(2026, 12, 31), "quarterly")
    assert not is_dealing_day(dt.date(2026, 11, 30), "quarterly")


def test_the_cut_off_is_the_time_of_day_in_the_terms_time_zone() -> None:
    assert cutoff_moment(dt.date(2026, 7, 2), cutoff_time=FOUR_PM, timezone_name=NEW_YORK) == dt.datetime(
        2026, 7, 2, 20, 0, tzinfo=dt.UTC
    )
    with pytest.raises(ValueError, match="not a time zone"):
        cutoff_moment(dt.date(2026, 7, 2), cutoff_time=FOUR_PM, timezone_name="Mars/Olympus")


def test_a_request_after_the_cut_off_counts_for_the_next_dealing_day() -> None:
    before = dt.datetime(2026, 7, 2, 19, 59, tzinfo=dt.UTC)  # 3:59 pm in New York
    after = dt.datetime(2026, 7, 2, 20, 0, tzinfo=dt.UTC)

    def day(now: dt.datetime) -> dt.date:
        return next_dealing_day(now=now, frequency="daily", cutoff_time=FOUR_PM, timezone_name=NEW_YORK)[0]

    assert day(before) == dt.date(2026, 7, 2)
    assert day(after) == dt.date(2026, 7, 6)  # past the holiday and the weekend


def test_the_notice_period_moves_a_request_to_the_first_dealing_day_far_enough_away() -> None:
    now = dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC)

    def day(notice: int) -> dt.date:
        return next_dealing_day(
            now=now, frequency="monthly", cutoff_time=FOUR_PM, timezone_name=NEW_YORK, notice_days=notice
        )[0]

    assert day(5) == dt.date(2026, 10, 30)
    assert day(15) == dt.date(2026, 11, 30)
