"""What redemptions add to other pages: the offering dashboard's panel (settings.OFFERING_DASHBOARD_PANELS) and the
portfolio's section (settings.PORTFOLIO_SECTIONS)."""

from __future__ import annotations

from typing import Any

from investors.models import InvestorProfile
from offerings.models import Offering
from redemptions.models import OPEN_REQUEST_STATES
from redemptions.selectors import dealing_days_of, redeemable_holdings, requests_of_investor, terms_of


def redemptions_panel(offering: Offering) -> tuple[str, dict[str, Any]]:
    return "redemptions/_panel.html", {
        "terms": terms_of(offering=offering),
        "dealing_days": list(dealing_days_of(offering=offering)[:5]),
    }


def portfolio_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    requests = list(requests_of_investor(investor=investor)[:5])
    return "redemptions/_portfolio.html", {
        "redeemable": [h.offering for h in redeemable_holdings(investor=investor)],
        "requests": requests,
        "open": sum(1 for r in requests if r.state in OPEN_REQUEST_STATES),
    }
