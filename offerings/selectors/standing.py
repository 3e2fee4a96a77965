"""Where a signed-in investor stands with an offering before they type an amount: they can invest, not yet (a
step of theirs or a decision still to come, with what to do), or never (a permanent bar such as a Regulation S
offering and a US person), and the subscription they already have in progress."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils import timezone

from compliance.eligibility import (
    FIGURE_REASONS,
    NO_INVESTOR_ACCOUNT,
    PERMANENT_REASONS,
    Reason,
    ReasonCode,
    subscription_eligibility,
)
from investors.models import InvestorProfile
from offerings.models import Offering, Subscription, SubscriptionStatus
from offerings.selectors.subscriptions import eligibility_context
from offerings.services.offerings import offering_terms

# A subscription still on its way: reserved and to sign, signed and to pay, or paid and waiting for the close.
IN_PROGRESS = (SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED, SubscriptionStatus.PAID)


@dataclass(frozen=True)
class NextStep:
    label: str
    url: str
    action: bool  # a step the investor takes (sign, pay), not a wait


def subscription_next_step(subscription: Subscription) -> NextStep:
    """What the investor does next with a subscription in progress."""
    if subscription.status == SubscriptionStatus.COMMITTED:
        return NextStep(
            "Review and sign the documents", reverse("subscription_sign", args=[subscription.public_id]), True
        )
    if subscription.status == SubscriptionStatus.SIGNED:
        return NextStep("Pay", reverse("subscription_pay", args=[subscription.public_id]), True)
    return NextStep(
        "Follow it until the tokens are issued", reverse("subscription_status", args=[subscription.public_id]), False
    )


@dataclass
class Standing:
    reasons: list[Reason] = field(default_factory=list)
    in_progress: Subscription | None = None
    not_open_yet: bool = False

    @property
    def can_invest(self) -> bool:
        return not self.reasons

    @property
    def permanent(self) -> list[Reason]:
        return [r for r in self.reasons if r.code in PERMANENT_REASONS and not self.not_open_yet]

    @property
    def closed_to_you(self) -> bool:
        """Nothing the investor does changes the answer: no amount form, and no "not yet"."""
        return bool(self.permanent)

    @property
    def offers_form(self) -> bool:
        """An amount typed now can still be accepted (the figure rules come with the amount)."""
        return not self.closed_to_you and not self.not_open_yet

    @property
    def headline(self) -> Reason | None:
        """The one reason a list shows: a permanent bar first."""
        shown = self.permanent or self.reasons
        return shown[0] if shown else None

    @property
    def next_step(self) -> NextStep | None:
        return subscription_next_step(self.in_progress) if self.in_progress else None

    @property
    def fix_url(self) -> str:
        """Where the investor takes the step a "not yet" waits for."""
        codes = {r.code for r in self.reasons}
        if ReasonCode.NO_INVESTOR_ACCOUNT in codes or ReasonCode.KYC_NOT_SUBMITTED in codes:
            return reverse("onboarding_start")
        if ReasonCode.NO_REGISTERED_WALLET in codes:
            return reverse("onboarding_wallets")
        if codes & {ReasonCode.ACCREDITATION_NOT_VERIFIED, ReasonCode.ACCREDITATION_REQUIRED}:
            return reverse("onboarding_accreditation")
        return reverse("investor_status")


def offering_standings(*, offerings: Iterable[Offering], investor: InvestorProfile | None) -> dict[int, Standing]:
    """Offering id → the investor's standing, checked at the offering's minimum without income figures;
    one check per offering (a page of offerings), one query for the subscriptions in progress."""
    offerings = list(offerings)
    if investor is None:
        return {o.pk: Standing(reasons=[NO_INVESTOR_ACCOUNT]) for o in offerings}
    open_now: dict[int, Any] = {}
    for s in (
        Subscription.objects.filter(investor=investor, offering__in=offerings, status__in=IN_PROGRESS)
        .select_related("offering")
        .order_by("created_at", "pk")
    ):
        open_now.setdefault(s.offering_id, s)
    now = timezone.now()
    standings = {}
    for offering in offerings:
        financials = 0 if offering.investor_limit != "none" else None
        check = subscription_eligibility(
            investor=investor,
            terms=offering_terms(offering, now=now),
            amount_minor=offering.min_investment_minor,
            context=eligibility_context(
                offering=offering, investor=investor, annual_income_minor=financials, net_worth_minor=financials
            ),
        )
        standings[offering.pk] = Standing(
            reasons=[r for r in check.reasons if r.code not in FIGURE_REASONS],
            in_progress=open_now.get(offering.pk),
            not_open_yet=offering.status == "open" and now < offering.opens_at,
        )
    return standings
