from __future__ import annotations

from django import template

from distributions.models import WithholdingReason

register = template.Library()


@register.filter
def bps(rate: int | None) -> str:
    """Basis points as a percentage: 1500 → "15%", 1250 → "12.5%"."""
    if rate is None:
        return "—"
    whole, rest = divmod(int(rate), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.filter
def withholding_reason(code: str) -> str:
    return WithholdingReason(code).label if code in WithholdingReason.values else code
