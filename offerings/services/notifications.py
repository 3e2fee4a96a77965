"""E-mails to investors about their subscriptions, and to issuers about money taken back. Sent by tasks after
the change that calls for them commits."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    Offering,
    OfferingDocument,
    Subscription,
    SubscriptionStatus,
)


def _site() -> str:
    return getattr(settings, "SITE_URL", "")


def material_change_notify(*, document_id: int) -> int:
    """Tell every investor with an open subscription that a document of the offering changed materially."""
    document = OfferingDocument.objects.select_related("offering").get(pk=document_id)
    offering = document.offering
    rows = Subscription.objects.filter(offering=offering, status__in=OPEN_SUBSCRIPTION_STATUSES).select_related(
        "investor__user"
    )
    messages = []
    for s in rows:
        body = render_to_string(
            "offerings/email/material_change.txt",
            {
                "subscription": s,
                "offering": offering,
                "document": document,
                "url": _site() + reverse("subscription_status", args=[s.public_id]),
            },
        )
        messages.append((f"[Tessera] {offering.title}: {document.title} changed", body, None, [s.investor.user.email]))
    return send_mass_mail(messages, fail_silently=False)


def closing_notify(*, kind: str, offering_id: int, batch_id: int | None) -> int:
    """After closing: `issued` tells the holders of a confirmed mint batch; otherwise the paid
    investors of an offering that missed its soft cap hear that they are refunded."""
    offering = Offering.objects.get(pk=offering_id)
    if kind == "issued":
        rows = Subscription.objects.filter(mint_batch_id=batch_id, status=SubscriptionStatus.ISSUED)
        subject = f"[Tessera] Your {offering.token_symbol} tokens are issued"
    else:
        rows = Subscription.objects.filter(offering=offering, status=SubscriptionStatus.CANCELLED).filter(
            Q(paid_minor__gt=0) | Q(entries__isnull=False)
        )
        subject = f"[Tessera] {offering.title} did not reach its minimum: refund"
    messages = []
    for s in rows.select_related("investor__user", "mint_batch__chain_transaction").distinct():
        body = render_to_string(
            f"offerings/email/{kind}.txt",
            {"subscription": s, "offering": offering, "portfolio": _site() + reverse("portfolio")},
        )
        messages.append((subject, body, None, [s.investor.user.email]))
    return send_mass_mail(messages, fail_silently=False)


def case_opened_notify(*, case_id: int) -> int:
    """Tell the issuer's admins and compliance officers that money was taken back from a subscription."""
    from core.models import IssuerMembership, Role
    from offerings.models import PaymentCase
    from offerings.services.payments import money

    case = PaymentCase.objects.select_related("subscription__offering__issuer", "subscription__investor").get(
        pk=case_id
    )
    issuer = case.subscription.offering.issuer
    recipients = sorted(
        set(
            IssuerMembership.objects.filter(
                issuer=issuer, role__in=[Role.ISSUER_ADMIN, Role.COMPLIANCE_OFFICER]
            ).values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return 0
    body = render_to_string(
        "offerings/email/case_opened.txt",
        {
            "case": case,
            "subscription": case.subscription,
            "offering": case.subscription.offering,
            "amount": money(case.amount_minor, case.currency),
            "url": _site() + reverse("payment_cases", args=[issuer.slug]),
        },
    )
    subject = f"[Tessera] {case.get_kind_display()} on {case.subscription.offering.title}: action needed"
    return send_mass_mail([(subject, body, None, recipients)], fail_silently=False)


def reservation_expired_notify(*, subscription_id: int) -> int:
    """Tell the investor that their unpaid reservation ended and its amount was released."""
    subscription = Subscription.objects.select_related("offering", "investor__user").get(pk=subscription_id)
    offering = subscription.offering
    body = render_to_string(
        "offerings/email/reservation_expired.txt",
        {
            "subscription": subscription,
            "offering": offering,
            "url": _site() + reverse("subscription_status", args=[subscription.public_id]),
            "offering_url": _site() + reverse("offering_detail", args=[offering.public_id]),
        },
    )
    subject = f"[Tessera] {offering.title}: your unpaid reservation has ended"
    return send_mass_mail([(subject, body, None, [subscription.investor.user.email])], fail_silently=False)
