"""How every page and e-mail writes money, quantities and moments: one set of filters, loaded on every
template (TEMPLATES builtins), so no page prints minor units, bare integers or a second date format.

    {{ offering.hard_cap_minor|money:offering.currency }}   25,000.00 USD
    {{ threshold_cents|usd }}                               $10,000,000
    {{ holding.quantity|quantity:offering.token_symbol }}   1,250 ACME
    {{ row.quantity|units }}                                1,250
    {{ payment.occurred_at|when }}                          3 Mar 2025 14:05 UTC
    {{ distribution.record_date|day }}                      3 Mar 2025
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

from core.money import dollars_text, money_text

register = template.Library()

# One format for a day and one for a moment; the moment names its time zone (the portal's, UTC by default).
DAY_FORMAT = "j M Y"
MOMENT_FORMAT = "j M Y H:i T"


@register.filter
def money(minor: int | None, currency: str) -> str:
    """Minor units as the amount with separators and its currency code; "—" when there is none."""
    if minor is None or minor == "":
        return "—"
    return money_text(int(minor), str(currency or ""))


@register.filter
def usd(cents: int | None) -> str:
    """A dollar figure in cents (regulatory thresholds): "$10,000,000", cents shown only when there are some."""
    if cents is None or cents == "":
        return "—"
    return dollars_text(int(cents))


@register.filter
def units(value: int | None) -> str:
    """A whole count with separators: "1,250"; "—" when there is none."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}" if isinstance(value, int) else str(value)


@register.filter
def quantity(value: int | None, symbol: str = "") -> str:
    """Token units with the token's symbol: "1,250 ACME"."""
    if value is None or value == "":
        return "—"
    return f"{units(value)} {symbol}".strip()


def _moment(value: Any) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    return None


@register.filter
def day(value: Any) -> str:
    """A date (or the local date of a moment) as "3 Mar 2025"; "" when there is none, so `|default` applies."""
    moment = _moment(value)
    return "" if moment is None else date_format(moment, DAY_FORMAT)


@register.filter
def when(value: Any) -> str:
    """A moment as "3 Mar 2025 14:05 UTC", in the portal's time zone; a plain date as `day` writes it."""
    moment = _moment(value)
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        return date_format(moment, DAY_FORMAT)
    return date_format(moment, MOMENT_FORMAT)


@register.filter
def unix_when(seconds: int | None) -> str:
    """Unix seconds (a block's time) as `when` writes a moment."""
    if seconds is None or seconds == "":
        return ""
    return when(dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC))
