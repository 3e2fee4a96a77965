"""Business days, counted in one place: Monday to Friday, except the holidays of the configured calendar.

The SEC's deadlines in business days (Reg CF 227.304(c) reconfirmation, a reservation's time to pay)
skip weekends and US federal holidays; the holiday table comes from the `holidays` package, so a new
or moved holiday arrives with a package update, not an edit here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings


@lru_cache(maxsize=8)
def _calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def business_day_is(day: dt.date) -> bool:
    country = str(getattr(settings, "BUSINESS_DAY_HOLIDAYS", "US"))
    return day.weekday() < 5 and day not in _calendar(country, day.year)


def business_days_add(start: dt.datetime, days: int) -> dt.datetime:
    """The same time of day `days` business days after `start` (a Friday plus one is the Monday)."""
    current = start
    added = 0
    while added < days:
        current += dt.timedelta(days=1)
        if business_day_is(current.date()):
            added += 1
    return current
