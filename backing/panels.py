"""What backing adds to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS): whether its mints are
guarded by reserves, the token's backing condition, and while a closing is held, why; and to its public page
(settings.OFFERING_PAGE_SECTIONS): what backs it and the link to its transparency report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backing.models import BackingProfile, NavPoint
from backing.pricing import NavPricer
from backing.selectors import (
    backing_profile_of,
    backing_rule_of,
    backing_status_of,
    nav_history,
    nav_latest,
    nav_latest_of,
    nav_terms_of,
    nav_value_minor,
    reserve_statement_current,
)
from investors.models import InvestorProfile
from offerings.models import Offering, Subscription, SubscriptionStatus
from registry.selectors.portfolio import portfolio


def backing_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "backing/_panel.html", {
        "backing_rule": backing_rule_of(offering=offering),
        "backing_status": backing_status_of(offering=offering),
        "backing_statement": reserve_statement_current(offering=offering),
    }


def offering_page_section(offering: Offering) -> tuple[str, dict[str, Any]] | None:
    """On the offering's public page: what backs the token, the latest attested reserves and the way to its
    transparency report; its NAV history and how subscriptions are priced (settings.OFFERING_PAGE_SECTIONS)."""
    from backing.views.nav import nav_chart

    backed = BackingProfile.objects.filter(offering=offering).exists() or backing_rule_of(offering=offering) is not None
    terms = nav_terms_of(offering=offering)
    if not backed and terms is None:
        return None
    points = nav_history(offering=offering, limit=120)
    return "backing/_offering_section.html", {
        "offering": offering,
        "backed": backed,
        "profile": backing_profile_of(offering=offering),
        "statement": reserve_statement_current(offering=offering),
        "status": backing_status_of(offering=offering),
        "nav_terms": terms,
        "nav_points": points,
        "nav_latest": nav_latest(offering=offering),
        "nav_chart": nav_chart(points),
    }


@dataclass(frozen=True)
class HoldingAtNav:
    offering: Offering
    quantity: int
    nav: NavPoint
    value_minor: int  # the units at the latest NAV, rounded down
    points: list[NavPoint]
    chart: dict[str, Any]


def portfolio_nav_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    """On the investor's portfolio (settings.PORTFOLIO_SECTIONS): each token held that publishes a NAV, with its
    history and the holding's value at the latest NAV; and subscriptions priced at NAV, estimated or final."""
    from backing.views.nav import nav_chart

    holdings = [h for h in portfolio(investor=investor) if h.quantity > 0]
    latest = nav_latest_of(offering_ids=[h.offering.pk for h in holdings])
    rows = []
    for h in holdings:
        point = latest.get(h.offering.pk)
        if point is None:
            continue
        points = nav_history(offering=h.offering, limit=120)
        rows.append(
            HoldingAtNav(
                offering=h.offering,
                quantity=h.quantity,
                nav=point,
                value_minor=nav_value_minor(units=h.quantity, point=point),
                points=points,
                chart=nav_chart(points),
            )
        )
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.nav.currency] = totals.get(row.nav.currency, 0) + row.value_minor
    priced = [
        (s, pricer.quantity_note(s))
        for s in Subscription.objects.filter(investor=investor, offering__nav_terms__priced_at_nav=True)
        .exclude(status__in=[SubscriptionStatus.CANCELLED, SubscriptionStatus.REJECTED])
        .select_related("offering")
        .order_by("-created_at")[:20]
    ]
    return "backing/_portfolio_nav.html", {"holdings": rows, "totals": sorted(totals.items()), "priced": priced}


pricer = NavPricer()
