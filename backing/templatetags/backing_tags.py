from __future__ import annotations

from django import template

from backing.quantities import amount_text

register = template.Library()


@register.simple_tag
def reserve_amount(amount: int | None, scale: int, unit: str = "") -> str:
    """Counts of 10^-scale shown in the unit, every counted decimal kept ("1,250,000.00 USD")."""
    if amount is None:
        return "—"
    return f"{amount_text(int(amount), scale=int(scale))} {unit}".strip()


@register.simple_tag
def nav_amount(point: object) -> str:
    """A NAV point's value per unit, every declared decimal kept ("1.02345678 USD")."""
    if point is None:
        return "—"
    return f"{amount_text(int(point.nav_per_unit), scale=int(point.scale))} {point.currency}"  # type: ignore[attr-defined]
