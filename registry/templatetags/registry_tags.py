from __future__ import annotations

from django import template

from core.countries import country_name

register = template.Library()


@register.filter
def hundredths(value: int) -> str:
    """A share in hundredths of a percent (integers end to end) as "12.34 %"."""
    whole, part = divmod(int(value or 0), 100)
    return f"{whole}.{part:02d} %"


@register.filter
def units(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


@register.filter
def country_label(code: str) -> str:
    return country_name(code) if code else "Unknown"
