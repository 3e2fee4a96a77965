"""Reads about subscriptions: the facts eligibility counts, an offering's subscriptions, an investor's own."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from compliance.eligibility import EligibilityContext
from compliance.exemptions import Exemption
from investors.models import ApplicationStatus, InvestorProfile, IssuerApplication
from offerings.models import COMMITTED_STATUSES, Offering, Subscription
from tokens.selectors import registry_wallets_confirmed

# --------------------------------------------------------------------------- eligibility facts


def _window_start(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def eligibility_context(
    *,
    offering: Offering,
    investor: InvestorProfile,
    annual_income_minor: int | None = None,
    net_worth_minor: int | None = None,
    exclude_subscription: int | None = None,
) -> EligibilityContext:
    """What only offerings can count about this investor, for `subscription_eligibility`."""
    mine = Subscription.objects.filter(investor=investor, status__in=COMMITTED_STATUSES)
    if exclude_subscription is not None:
        mine = mine.exclude(pk=exclude_subscription)
    existing = mine.filter(offering=offering).aggregate(t=Sum("amount_minor"))["t"] or 0
    reg_cf = 0
    if offering.exemption == Exemption.REG_CF:
        # 227.100(a)(2): counted across every Reg CF offering in the 12 months before this sale.
        reg_cf = (
            mine.filter(offering__exemption=Exemption.REG_CF, created_at__gte=_window_start(365)).aggregate(
                t=Sum("amount_minor")
            )["t"]
            or 0
        )
    used, counted = 0, False
    if offering.max_non_accredited is not None:
        figures: dict[str, Any] = settings.EXEMPTION_FIGURES
        window = int(figures["rule_506b_window_days"])
        purchasers = Subscription.objects.filter(
            offering__issuer_id=offering.issuer_id,
            offering__exemption=Exemption.REG_D_506B,
            non_accredited=True,
            status__in=COMMITTED_STATUSES,
            created_at__gte=_window_start(window),
        )
        if exclude_subscription is not None:
            purchasers = purchasers.exclude(pk=exclude_subscription)
        used = purchasers.values("investor").distinct().count()
        counted = purchasers.filter(investor=investor).exists()
    declined = IssuerApplication.objects.filter(
        investor=investor, issuer_id=offering.issuer_id, status=ApplicationStatus.DECLINED
    ).exists()
    return EligibilityContext(
        declined_by_issuer=declined,
        existing_commitment_minor=existing,
        reg_cf_invested_12m_minor=reg_cf,
        non_accredited_used=used,
        counted_as_non_accredited=counted,
        annual_income_minor=annual_income_minor,
        net_worth_minor=net_worth_minor,
    )


def closing_contexts(*, offering: Offering, subscriptions: list[Subscription]) -> dict[int, EligibilityContext]:
    """Eligibility facts for many subscriptions of one offering, in a fixed number of queries."""
    investor_ids = {s.investor_id for s in subscriptions}
    wallets = registry_wallets_confirmed(investor_refs={s.investor.reference for s in subscriptions})
    totals: dict[int, int] = defaultdict(int)
    per_sub: dict[int, int] = {}
    rows = Subscription.objects.filter(investor_id__in=investor_ids, status__in=COMMITTED_STATUSES)
    if offering.exemption == Exemption.REG_CF:
        rows = rows.filter(offering__exemption=Exemption.REG_CF, created_at__gte=_window_start(365))
    else:
        rows = rows.filter(offering=offering)
    for pk, investor_id, amount in rows.values_list("pk", "investor_id", "amount_minor"):
        totals[investor_id] += amount
        per_sub[pk] = amount
    declined = set(
        IssuerApplication.objects.filter(
            investor_id__in=investor_ids, issuer_id=offering.issuer_id, status=ApplicationStatus.DECLINED
        ).values_list("investor_id", flat=True)
    )
    contexts = {}
    for s in subscriptions:
        others = totals[s.investor_id] - per_sub.get(s.pk, 0)
        contexts[s.pk] = EligibilityContext(
            declined_by_issuer=s.investor_id in declined,
            existing_commitment_minor=others if offering.exemption != Exemption.REG_CF else 0,
            reg_cf_invested_12m_minor=others if offering.exemption == Exemption.REG_CF else 0,
            counted_as_non_accredited=True,  # counted when the commitment was accepted
            annual_income_minor=s.annual_income_minor,
            net_worth_minor=s.net_worth_minor,
            registered_wallets=wallets.get(s.investor.reference, frozenset()),
        )
    return contexts


# --------------------------------------------------------------------------- lists


def offering_subscriptions(*, offering: Offering, status: str = "") -> QuerySet[Subscription]:
    rows = Subscription.objects.filter(offering=offering).select_related("investor__user").order_by("-created_at")
    return rows.filter(status=status) if status else rows


def subscriptions_of(*, investor: InvestorProfile) -> QuerySet[Subscription]:
    return Subscription.objects.filter(investor=investor).select_related("offering__issuer").order_by("-created_at")


def subscription_of(*, investor: InvestorProfile, public_id: Any) -> Subscription | None:
    return (
        Subscription.objects.filter(investor=investor, public_id=public_id)
        .select_related("offering__issuer", "mint_batch__chain_transaction")
        .first()
    )
