from __future__ import annotations

from typing import Any

from django import template

from core.notifications import absolute_url
from tokens.selectors import explorer_url

register = template.Library()

COLOURS = {
    "draft": "secondary",
    "open": "success",
    "closing": "warning",
    "closed": "primary",
    "failed": "danger",
    "committed": "secondary",
    "signed": "info",
    "paid": "success",
    "allocated": "warning",
    "issued": "primary",
    "cancelled": "light",
    "rejected": "danger",
    "exact": "success",
    "partial": "warning",
    "overpaid": "warning",
    "unmatched": "danger",
    "wrong_currency": "danger",
    "requested": "warning",
    "sent": "success",
    "started": "secondary",
    "processing": "info",
    "succeeded": "success",
    "expired": "light",
}


@register.filter
def status_colour(status: str) -> str:
    return COLOURS.get(str(status), "secondary")


@register.filter
def percent_committed(offering: Any) -> int:
    if not offering.hard_cap_minor:
        return 0
    return min(100, offering.committed_minor * 100 // offering.hard_cap_minor)


@register.filter
def days(seconds: int) -> int:
    return int(seconds or 0) // 86400


@register.filter
def percent_of(part: int, whole: int) -> int:
    return min(100, int(part or 0) * 100 // int(whole)) if whole else 0


@register.filter
def split_commas(text: str) -> list[str]:
    return text.split(",")


@register.filter
def provider_name(identifier: str) -> str:
    """A payment provider's name as investors read it ("Bank wire"), not its identifier."""
    from offerings.payments import payment_providers

    provider = payment_providers().get(str(identifier))
    return str(provider.verbose_name) if provider is not None else str(identifier)


@register.filter
def tx_link(tx_hash: str | None) -> str:
    """A transaction's link for an e-mail: the chain's explorer, or on a chain without one (a local anvil) the
    portal's own transaction page as a full address from SITE_URL, so a mail reader can open it."""
    url = explorer_url(tx_hash)
    return absolute_url(url) if url else ""
