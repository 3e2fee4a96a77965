from __future__ import annotations

from django import template

from redemptions.models import DealingDay
from redemptions.pricing import nav_text

register = template.Library()


@register.filter
def day_nav(day: DealingDay) -> str:
    """The dealing day's NAV per unit as its exact decimal with the currency, or an empty string."""
    if day.nav_per_unit is None:
        return ""
    return f"{nav_text(nav_per_unit=day.nav_per_unit, nav_scale=day.nav_scale)} {day.currency}"


@register.filter
def bps_percent(value: int | None) -> str:
    """Basis points as a percentage, exactly (25 → 0.25%)."""
    if value is None:
        return ""
    whole, part = divmod(int(value), 100)
    return f"{whole}.{part:02d}%"
