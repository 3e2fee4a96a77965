"""Which days a token deals on and when each day's cut-off falls.

Daily dealing is every business day (core.business_days); weekly, monthly and quarterly dealing is the last
business day of the week, month or quarter. A day's cut-off is the terms' cut-off time on that day in the
terms' time zone. A request made now counts for the first dealing day whose cut-off is at least the notice
period away.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.business_days import business_day_is
from redemptions.models import DealingFrequency

SEARCH_DAYS = 400  # a quarter and the longest notice period the form allows, with room to spare


def timezone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"“{name}” is not a time zone (e.g. America/New_York or UTC).") from exc


def _last_business_day_until(day: dt.date, end: dt.date) -> bool:
    """`day` is a business day and none follows it up to `end`."""
    if not business_day_is(day):
        return False
    following = day + dt.timedelta(days=1)
    while following <= end:
        if business_day_is(following):
            return False
        following += dt.timedelta(days=1)
    return True


def _period_end(day: dt.date, frequency: str) -> dt.date:
    if frequency == DealingFrequency.WEEKLY:
        return day + dt.timedelta(days=6 - day.weekday())
    month = day.month
    if frequency == DealingFrequency.QUARTERLY:
        month = ((day.month - 1) // 3 + 1) * 3
    first_next = dt.date(day.year + (month // 12), month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def is_dealing_day(day: dt.date, frequency: str) -> bool:
    if frequency == DealingFrequency.DAILY:
        return business_day_is(day)
    return _last_business_day_until(day, _period_end(day, frequency))


def cutoff_moment(day: dt.date, *, cutoff_time: dt.time, timezone_name: str) -> dt.datetime:
    return dt.datetime.combine(day, cutoff_time, tzinfo=timezone_of(timezone_name)).astimezone(dt.UTC)


def next_dealing_day(
    *, now: dt.datetime, frequency: str, cutoff_time: dt.time, timezone_name: str, notice_days: int = 0
) -> tuple[dt.date, dt.datetime]:
    """The first dealing day whose cut-off is at least `notice_days` after `now`, with that cut-off (UTC)."""
    earliest = now + dt.timedelta(days=notice_days)
    day = earliest.astimezone(timezone_of(timezone_name)).date()
    for _ in range(SEARCH_DAYS):
        if is_dealing_day(day, frequency):
            cutoff = cutoff_moment(day, cutoff_time=cutoff_time, timezone_name=timezone_name)
            if cutoff > earliest:
                return day, cutoff
        day += dt.timedelta(days=1)
    raise ValueError("No dealing day within a year: check the dealing calendar.")
