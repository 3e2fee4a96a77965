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
def country_label(code: str) -> str:
    return country_name(code) if code else "Unknown"


@register.filter
def exemption_short(code: str) -> str:
    """An exemption's short name for a table cell ("Reg D 506(c)"), not its code."""
    from registry.selectors.cap_table import exemption_label

    return exemption_label(str(code or ""))
