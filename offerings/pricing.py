"""How many units a subscription buys. By default an offering has a fixed price: amount // price_minor whole
units, fixed when the investor subscribes. An app above offerings may price some offerings otherwise (backing
prices an offering at its NAV, forward: a subscription paid before a dealing day's cut-off is issued at that
day's NAV). It is named by settings.SUBSCRIPTION_PRICER, a dotted path to an object with the methods of
`Pricer`; it answers only for the offerings it says it prices, and offerings never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from offerings.models import Offering, Subscription


@dataclass(frozen=True)
class FinalPrice:
    """The units a paid subscription is issued and what they cost (never more than it paid: the rest is paid
    back as an overpayment); `note` says how, for the investor."""

    quantity: int
    amount_minor: int
    note: str


class Pricer(Protocol):
    def prices(self, offering: Offering) -> bool:
        """Whether this pricer prices the offering (otherwise its fixed price applies)."""

    def quantity_estimate(self, offering: Offering, amount_minor: int) -> int:
        """The units the amount would buy now: what a new subscription shows until it is priced."""

    def quantities_final(self, offering: Offering, subscriptions: Sequence[Subscription]) -> dict[int, FinalPrice]:
        """Final prices of the paid subscriptions that can be priced now (keyed by id); those left out wait.
        Called under the offering's row lock, in the transaction that queues their mint; records what it
        decides, and gives the same answer when asked again."""

    def quantity_note(self, subscription: Subscription) -> str:
        """How the subscription's quantity was or will be set, in a sentence for the investor."""


@cache
def _pricer(path: str) -> Pricer:
    pricer: Pricer = import_string(path)()
    return pricer


def offering_pricer(offering: Offering) -> Pricer | None:
    path = getattr(settings, "SUBSCRIPTION_PRICER", "")
    if not path:
        return None
    pricer = _pricer(path)
    return pricer if pricer.prices(offering) else None


def subscription_quantity_estimate(*, offering: Offering, amount_minor: int) -> int:
    pricer = offering_pricer(offering)
    if pricer is None:
        return amount_minor // offering.price_minor
    return pricer.quantity_estimate(offering, amount_minor)


def subscription_quantity_note(subscription: Subscription) -> str:
    pricer = offering_pricer(subscription.offering)
    return pricer.quantity_note(subscription) if pricer is not None else ""
