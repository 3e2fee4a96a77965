"""What distributions add to an offering's dashboard (settings.OFFERING_DASHBOARD_PANELS) and to an investor's
portfolio (settings.PORTFOLIO_SECTIONS)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from distributions.selectors import distributions_of, reinvestment_choices, reinvestment_lines_of
from investors.models import InvestorProfile
from offerings.models import Offering, SubscriptionStatus

HELD_SUBSCRIPTIONS = [SubscriptionStatus.ISSUED, SubscriptionStatus.ALLOCATED]


def distributions_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "distributions/_panel.html", {"distributions": list(distributions_of(offering=offering)[:5])}


def reinvestment_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    """Per token held that offers reinvestment: the investor's election, and what their distributions reinvested."""
    held = Offering.objects.filter(
        Q(lots__investor=investor) | Q(subscriptions__investor=investor, subscriptions__status__in=HELD_SUBSCRIPTIONS)
    ).distinct()
    return "distributions/_portfolio_reinvestment.html", {
        "choices": reinvestment_choices(investor=investor, offerings=list(held.order_by("pk"))),
        "outcomes": reinvestment_lines_of(investor=investor),
    }
