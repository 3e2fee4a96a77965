from django import template

register = template.Library()


@register.filter
def percent_bps(bps: int | None) -> str:
    """5000 → "50.00%": basis points as a percentage, exact to two decimals."""
    value = int(bps or 0)
    return f"{value // 100}.{value % 100:02d}%"


@register.filter
def share_of(option: object, power_voted: int) -> str:
    """An option's share of the power voted, as a percentage to two decimals (rounded down)."""
    share = option.share_bps(power_voted)  # type: ignore[attr-defined]
    return percent_bps(share)
