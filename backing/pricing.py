"""Offerings priced at NAV (settings.SUBSCRIPTION_PRICER): forward pricing, as tokenized funds deal.

A subscription is accepted when it is paid in full; accepted before a dealing day's cut-off (UTC), it deals on
that day, else on the next business day. Until that day's NAV is approved the investor sees an estimate (the
units at the latest approved NAV, or at the offering's initial price before the first); once it is, the closing
issues the subscription at it: whole units, rounded down, costing the units times the NAV rounded up to the minor
unit; what was paid beyond that cost is paid back. All integer arithmetic (backing.quantities.units_at_nav).
"""

from __future__ import annotations

from collections.abc import Sequence

from backing.models import NavPoint, NavPricing, NavTerms, StatementState
from backing.quantities import amount_text, units_at_nav
from backing.selectors import dealing_day_of, nav_latest
from core.money import CURRENCY_EXPONENTS, Money
from offerings.models import Offering, Subscription
from offerings.pricing import FinalPrice


def _exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency, 2)


def _nav(point: NavPoint) -> str:
    return f"{amount_text(point.nav_per_unit, scale=point.scale)} {point.currency}"


def _terms(offering: Offering) -> NavTerms | None:
    return NavTerms.objects.filter(offering=offering, priced_at_nav=True).first()


class NavPricer:
    """offerings.pricing.Pricer for the offerings whose NAV terms say they are priced at NAV."""

    def prices(self, offering: Offering) -> bool:
        return _terms(offering) is not None

    def quantity_estimate(self, offering: Offering, amount_minor: int) -> int:
        latest = nav_latest(offering=offering)
        if latest is None:
            return amount_minor // offering.price_minor
        units, _ = units_at_nav(
            amount_minor=amount_minor,
            nav_per_unit=latest.nav_per_unit,
            nav_scale=latest.scale,
            currency_exponent=_exponent(latest.currency),
        )
        return units

    def quantities_final(self, offering: Offering, subscriptions: Sequence[Subscription]) -> dict[int, FinalPrice]:
        terms = _terms(offering)
        if terms is None:
            return {}
        done = {
            p.subscription_id: p
            for p in NavPricing.objects.filter(subscription__in=[s.pk for s in subscriptions]).select_related(
                "nav_point"
            )
        }
        days = {s.pk: dealing_day_of(terms=terms, moment=s.paid_at) for s in subscriptions if s.paid_at is not None}
        points = {
            p.dealing_day: p
            for p in NavPoint.objects.filter(
                offering=offering, state=StatementState.APPROVED, dealing_day__in=set(days.values())
            )
        }
        finals: dict[int, FinalPrice] = {}
        for s in subscriptions:
            pricing = done.get(s.pk)
            if pricing is None:
                point = points.get(days.get(s.pk))  # type: ignore[arg-type]
                if point is None:
                    continue  # its dealing day's NAV is not approved yet: it waits
                quantity, cost = units_at_nav(
                    amount_minor=s.amount_minor,
                    nav_per_unit=point.nav_per_unit,
                    nav_scale=point.scale,
                    currency_exponent=_exponent(point.currency),
                )
                pricing = NavPricing.objects.create(
                    subscription=s,
                    dealing_day=point.dealing_day,
                    nav_point=point,
                    estimated_quantity=s.quantity,
                    quantity=quantity,
                    amount_minor=s.amount_minor,
                    cost_minor=cost,
                )
            finals[s.pk] = FinalPrice(quantity=pricing.quantity, amount_minor=pricing.cost_minor, note=_note(pricing))
        return finals

    def quantity_note(self, subscription: Subscription) -> str:
        pricing = NavPricing.objects.filter(subscription=subscription).select_related("nav_point").first()
        if pricing is not None:
            return _note(pricing)
        terms = _terms(subscription.offering)
        if terms is None:
            return ""
        latest = nav_latest(offering=subscription.offering)
        basis = (
            f"at the latest NAV, {_nav(latest)} on {latest.dealing_day:%d %B %Y}"
            if latest
            else f"at the initial price of {Money(subscription.offering.price_minor, subscription.currency)}"
        )
        if subscription.paid_at is not None:
            day = dealing_day_of(terms=terms, moment=subscription.paid_at)
            when = f"paid before the cut-off of {day:%d %B %Y}, it is issued at that day's NAV once it is published"
        else:
            when = (
                f"once paid in full, it is issued at the NAV of the first dealing day whose cut-off "
                f"({terms.cutoff:%H:%M} UTC) the payment comes before"
            )
        return f"Estimated {basis}; {when}."


def _note(pricing: NavPricing) -> str:
    residual = pricing.amount_minor - pricing.cost_minor
    currency = pricing.nav_point.currency
    back = f"; {Money(residual, currency)} paid beyond their cost is paid back" if residual else ""
    if pricing.quantity < 1:
        return (
            f"At the NAV of {pricing.dealing_day:%d %B %Y}, {_nav(pricing.nav_point)} a unit, "
            f"{Money(pricing.amount_minor, currency)} buys no whole unit."
        )
    return (
        f"Final: {pricing.quantity:,} units at the NAV of {pricing.dealing_day:%d %B %Y}, {_nav(pricing.nav_point)} a "
        f"unit, costing {Money(pricing.cost_minor, currency)}{back} (estimated {pricing.estimated_quantity:,})."
    )
