"""What an issuer admin's home shows (offerings/panels.py): their offerings and raises, what waits for
them, and the Form D filing deadline of a Regulation D offering once it has sold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q
from django.utils import timezone

from compliance.exemptions import Exemption
from core.business_days import business_day_is
from core.models import ApprovalState, Issuer, User
from offerings.models import COMMITTED_STATUSES, Offering, OfferingStatus, Subscription, SubscriptionStatus
from offerings.selectors.payments import money_to_act_on, wire_receipts_of

REG_D = (Exemption.REG_D_506B, Exemption.REG_D_506C)
# Rule 503(a)(1): Form D is filed no later than 15 calendar days after the first sale.
FORM_D_DAYS = 15


def form_d_due(first_sale: dt.date) -> dt.date:
    """15 calendar days after the first sale; a deadline on a weekend or holiday moves to the next business
    day (Rule 503(a)(1) with Regulation S-T 232.13(a)(4))."""
    due = first_sale + dt.timedelta(days=FORM_D_DAYS)
    while not business_day_is(due):
        due += dt.timedelta(days=1)
    return due


@dataclass
class FormDNote:
    offering: Offering
    first_sale: dt.date
    due: dt.date

    @property
    def overdue(self) -> bool:
        return timezone.localdate() > self.due


def form_d_notes(*, offerings: Sequence[Offering]) -> list[FormDNote]:
    """Regulation D offerings that have sold, with the date Form D is due. The first sale is the first
    investor's irrevocable commitment: the earliest signed subscription that still counts."""
    reg_d = [o for o in offerings if o.exemption in REG_D]
    if not reg_d:
        return []
    firsts = dict(
        Subscription.objects.filter(offering__in=reg_d, status__in=COMMITTED_STATUSES, signed_at__isnull=False)
        .values_list("offering")
        .annotate(first=Min("signed_at"))
        .order_by()
    )
    notes = []
    for offering in reg_d:
        first = firsts.get(offering.pk)
        if first is not None:
            day = timezone.localtime(first).date()
            notes.append(FormDNote(offering=offering, first_sale=day, due=form_d_due(day)))
    return notes


@dataclass
class IssuerWork:
    issuer: Issuer
    offerings: Sequence[Offering]
    raising: Sequence[Offering]
    paid_to_review: list[tuple[Offering, int]]  # paid subscriptions waiting for the close, per open offering
    flagged_wires: int
    money: dict[str, int]
    approvals_for_you: int
    form_d: list[FormDNote] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return (
            self.flagged_wires
            + sum(self.money.values())
            + self.approvals_for_you
            + sum(n for _, n in self.paid_to_review)
        )


def issuer_work(*, issuer: Issuer, user: User) -> IssuerWork:
    offerings = list(
        Offering.objects.filter(issuer=issuer)
        .annotate(
            investor_count=Count(
                "subscriptions__investor", filter=Q(subscriptions__status__in=COMMITTED_STATUSES), distinct=True
            )
        )
        .order_by("-created_at")[:20]
    )
    raising = [o for o in offerings if o.status in (OfferingStatus.OPEN, OfferingStatus.CLOSING)]
    paid = dict(
        Subscription.objects.filter(offering__in=raising, status=SubscriptionStatus.PAID)
        .values_list("offering")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return IssuerWork(
        issuer=issuer,
        offerings=offerings,
        raising=raising,
        paid_to_review=[(o, paid[o.pk]) for o in raising if paid.get(o.pk)],
        flagged_wires=wire_receipts_of(issuer=issuer, flagged_only=True).count(),
        money=money_to_act_on(issuer=issuer),
        approvals_for_you=issuer.approval_requests.filter(state=ApprovalState.PENDING)
        .exclude(proposed_by=user)
        .count(),
        form_d=form_d_notes(offerings=offerings),
    )
