"""Transaction hashes and addresses, written one way on every page (TEMPLATES builtins): shortened, the whole
value a click away on the chain's block explorer (or the portal's own page for a chain without one) and
copied by a button.

    {% tx_ref subscription.mint_tx_hash %}       0x5f2c9a…41be  [Copy]
    {% address_ref subscription.wallet_address %} 0xf39F…2266  [Copy]
"""

from __future__ import annotations

from typing import Any

from django import template

from tokens.explorer import ADDRESS, TransactionPage
from tokens.selectors import explorer_address_url, explorer_url

register = template.Library()


def shorten(value: str, *, head: int, tail: int = 4) -> str:
    """ "0x" and the first and last few digits: enough to tell two apart at a glance."""
    return value if len(value) <= head + tail + 1 else f"{value[:head]}…{value[-tail:]}"


def _ref(value: Any, *, kind: str, url: str | None, head: int) -> dict[str, Any]:
    text = str(value or "")
    return {
        "value": text,
        "short": shorten(text, head=head),
        "url": url,
        "kind": kind,
        "external": bool(url and url.startswith(("http://", "https://"))),
    }


@register.inclusion_tag("tokens/_chain_ref.html")
def tx_ref(tx_hash: Any) -> dict[str, Any]:
    return _ref(tx_hash, kind="transaction", url=explorer_url(str(tx_hash or "")), head=10)


@register.inclusion_tag("tokens/_chain_ref.html")
def address_ref(address: Any) -> dict[str, Any]:
    return _ref(address, kind="address", url=explorer_address_url(str(address or "")), head=6)


@register.filter
def is_address(value: Any) -> bool:
    return isinstance(value, str) and ADDRESS.fullmatch(value) is not None


@register.filter
def name_of(page: TransactionPage, address: str | None) -> str:
    """What the portal deployed at an address on a transaction page ("" for anything else)."""
    return page.name_of(address)
