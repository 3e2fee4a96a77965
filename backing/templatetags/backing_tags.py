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
