"""The investor's portfolio page, read from the holdings ledger. Apps above the registry add sections
(`settings.PORTFOLIO_SECTIONS`: callables taking the investor, returning a template name and its context)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.module_loading import import_string
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
    sections = [import_string(path)(investor) for path in settings.PORTFOLIO_SECTIONS] if investor else []
    return render(
        request,
        "registry/portfolio.html",
        {"holdings": holdings, "subscriptions": subscriptions, "sections": sections},
    )
