"""The investor's portfolio page, read from the holdings ledger."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.access import Perm, access_required, signed_in_user
from investors.models import InvestorProfile
from offerings.selectors import subscriptions as subscription_selectors
from registry.selectors import portfolio as portfolio_selectors


@require_GET
@access_required(Perm.INVESTOR_SELF)
def portfolio(request: HttpRequest) -> HttpResponse:
    investor = InvestorProfile.objects.filter(user=signed_in_user(request)).first()
    holdings = portfolio_selectors.portfolio(investor=investor) if investor else []
    subscriptions = list(subscription_selectors.subscriptions_of(investor=investor)[:50]) if investor else []
    return render(request, "registry/portfolio.html", {"holdings": holdings, "subscriptions": subscriptions})
