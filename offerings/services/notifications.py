"""What investors and issuers are told about subscriptions and money (`core.notifications`).

Each function names its event once (`event_key`), so however often it runs a person is told once. They
are called inside the transaction of the change, except the two that reach every holder of an offering
(a material change, an issue of tokens), which run in a task after the change commits."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse

from core.models import NotificationKind, Role, User
from core.money import money_text as money
from core.notifications import Message, absolute_url, issuer_people, notify, notify_each
from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    Offering,
    OfferingDocument,
    PaymentCase,
    PaymentEntry,
    Refund,
    Subscription,
    SubscriptionStatus,
    WireReceipt,
)


def _status_path(subscription: Subscription) -> str:
    return reverse("subscription_status", args=[subscription.public_id])


def _others(people: Iterable[User], actor: object) -> list[User]:
    """The people told, less the person whose action it was (they saw it happen)."""
    return [u for u in people if not (isinstance(actor, User) and u.pk == actor.pk)]


# --------------------------------------------------------------------------- investors


@transaction.atomic
def material_change_notify(*, document_id: int) -> int:
    """Tell every investor with an open subscription that a document of the offering changed materially."""
    document = OfferingDocument.objects.select_related("offering").get(pk=document_id)
    offering = document.offering
    rows = Subscription.objects.filter(offering=offering, status__in=OPEN_SUBSCRIPTION_STATUSES).select_related(
        "investor__user"
    )
    messages = [
        (
            s.investor.user,
            Message(
                kind=NotificationKind.DOCUMENT_CHANGED,
                subject=f"{offering.title}: {document.title} changed",
                template="offerings/email/material_change.txt",
                context={"subscription": s, "offering": offering, "document": document},
                path=reverse("subscription_reconfirm", args=[s.public_id]) if s.reconfirm_by else _status_path(s),
                action_label="Reconfirm or cancel" if s.reconfirm_by else "Read the new version",
            ),
        )
        for s in rows
    ]
    return notify_each(event_key=f"document:{document.pk}:changed", messages=messages, issuer=offering.issuer)


@transaction.atomic
def closing_notify(*, kind: str, offering_id: int, batch_id: int | None) -> int:
    """After closing, `issued`: the holders of a confirmed mint batch hear that their tokens are issued.
    (Investors of an offering that missed its minimum are told as each subscription ends.)"""
    offering = Offering.objects.select_related("issuer").get(pk=offering_id)
    if kind != "issued":
        return 0
    rows = Subscription.objects.filter(mint_batch_id=batch_id, status=SubscriptionStatus.ISSUED)
    event_key = f"mint_batch:{batch_id}:issued"
    messages = [
        (
            s.investor.user,
            Message(
                kind=NotificationKind.TOKENS_ISSUED,
                subject=f"Your {offering.token_symbol} tokens are issued",
                template="offerings/email/issued.txt",
                context={"subscription": s, "offering": offering},
                path=reverse("portfolio"),
                action_label="Open your portfolio",
            ),
        )
        for s in rows.select_related("investor__user", "mint_batch__chain_transaction").distinct()
    ]
    return notify_each(event_key=event_key, messages=messages, issuer=offering.issuer)


def payment_received_notify(*, entry: PaymentEntry, subscription: Subscription) -> None:
    """The investor hears that money arrived, and what the subscription still needs."""
    notify(
        recipients=[subscription.investor.user],
        event_key=f"payment_entry:{entry.pk}:received",
        message=Message(
            kind=NotificationKind.PAYMENT_RECEIVED,
            subject=f"{subscription.offering.title}: payment of {money(entry.amount_minor, entry.currency)} received",
            template="offerings/notifications/payment_received.txt",
            context={
                "subscription": subscription,
                "offering": subscription.offering,
                "amount": money(entry.amount_minor, entry.currency),
                "outstanding": money(max(subscription.amount_minor - subscription.paid_minor, 0), entry.currency),
                "paid_in_full": subscription.paid_minor >= subscription.amount_minor,
            },
            path=_status_path(subscription),
            action_label="See your subscription",
        ),
        issuer=subscription.offering.issuer,
    )


def subscription_ended_notify(*, subscription: Subscription, actor: object, expired: bool = False) -> None:
    """The investor hears that the subscription ended (cancelled, rejected, or not paid in time)."""
    offering = subscription.offering
    by_investor = isinstance(actor, User) and actor.pk == subscription.investor.user_id
    if expired:
        subject = f"{offering.title}: your unpaid reservation has ended"
        template, kind = "offerings/email/reservation_expired.txt", NotificationKind.SUBSCRIPTION_EXPIRED
    elif subscription.status == SubscriptionStatus.REJECTED:
        subject = f"{offering.title}: your subscription was not accepted"
        template, kind = "offerings/notifications/subscription_ended.txt", NotificationKind.SUBSCRIPTION_CANCELLED
    else:
        subject = f"{offering.title}: your subscription is cancelled"
        template, kind = "offerings/notifications/subscription_ended.txt", NotificationKind.SUBSCRIPTION_CANCELLED
    notify(
        recipients=[subscription.investor.user],
        event_key=f"subscription:{subscription.pk}:ended",
        message=Message(
            kind=kind,
            subject=subject,
            template=template,
            context={
                "subscription": subscription,
                "offering": offering,
                "by_investor": by_investor,
                "offering_url": absolute_url(reverse("offering_detail", args=[offering.public_id])),
            },
            path=_status_path(subscription),
            action_label="See your subscription",
        ),
        issuer=offering.issuer,
    )


def refund_sent_notify(*, refund: Refund) -> None:
    """The investor hears that their money is on its way back (once per refund, whichever way it went)."""
    subscription = refund.payment.subscription
    notify(
        recipients=[subscription.investor.user],
        event_key=f"refund:{refund.pk}:sent",
        message=Message(
            kind=NotificationKind.REFUND_SENT,
            subject=f"{subscription.offering.title}: refund of {money(refund.amount_minor, refund.currency)} sent",
            template="offerings/notifications/refund_sent.txt",
            context={
                "refund": refund,
                "subscription": subscription,
                "offering": subscription.offering,
                "amount": money(refund.amount_minor, refund.currency),
            },
            path=_status_path(subscription),
            action_label="See your subscription",
        ),
        issuer=subscription.offering.issuer,
    )


def case_opened_notify(*, case: PaymentCase) -> None:
    """Money taken back (a chargeback, a refund outside the portal): the investor's payment is flagged,
    and the issuer's admins and compliance officers must act."""
    subscription = case.subscription
    offering = subscription.offering
    context = {
        "case": case,
        "subscription": subscription,
        "offering": offering,
        "amount": money(case.amount_minor, case.currency),
    }
    notify(
        recipients=[subscription.investor.user],
        event_key=f"case:{case.pk}:opened",
        message=Message(
            kind=NotificationKind.PAYMENT_FLAGGED,
            subject=f"{offering.title}: your payment was flagged",
            template="offerings/notifications/payment_flagged.txt",
            context=context,
            path=_status_path(subscription),
            action_label="See your subscription",
        ),
        issuer=offering.issuer,
    )
    notify(
        recipients=issuer_people(offering.issuer, roles=(Role.ISSUER_ADMIN, Role.COMPLIANCE_OFFICER)),
        event_key=f"case:{case.pk}:opened",
        message=Message(
            kind=NotificationKind.MONEY_TAKEN_BACK,
            subject=f"{case.get_kind_display()} on {offering.title}: action needed",
            template="offerings/email/case_opened.txt",
            context=context,
            path=reverse("payment_cases", args=[offering.issuer.slug]),
            action_label="Open the case",
        ),
        issuer=offering.issuer,
    )


# --------------------------------------------------------------------------- issuers


def wire_received_notify(*, receipt: WireReceipt, actor: object) -> None:
    """The issuer's other admins hear of a wire recorded on the account, and whether it needs matching."""
    issuer = receipt.issuer
    notify(
        recipients=_others(issuer_people(issuer), actor),
        event_key=f"wire:{receipt.pk}:recorded",
        message=Message(
            kind=NotificationKind.WIRE_RECEIVED,
            subject=f"Wire of {money(receipt.amount_minor, receipt.currency)} received ({receipt.get_match_display()})",
            template="offerings/notifications/wire_received.txt",
            context={"receipt": receipt, "amount": money(receipt.amount_minor, receipt.currency)},
            path=reverse("wire_receipts", args=[issuer.slug]),
            action_label="Open the wires",
        ),
        issuer=issuer,
    )


def wires_imported_notify(*, issuer_id: int, import_key: str, recorded: int, to_match: int, actor: object) -> None:
    """One notice for a bank statement imported (rather than one per line) to the issuer's other admins."""
    from core.models import Issuer

    issuer = Issuer.objects.get(pk=issuer_id)
    if recorded == 0:
        return
    notify(
        recipients=_others(issuer_people(issuer), actor),
        event_key=f"wire_import:{import_key}",
        message=Message(
            kind=NotificationKind.WIRE_RECEIVED,
            subject=f"{recorded} wire{'s' if recorded != 1 else ''} received"
            + (f", {to_match} to match" if to_match else ""),
            template="offerings/notifications/wires_imported.txt",
            context={"recorded": recorded, "to_match": to_match, "actor": actor},
            path=reverse("wire_receipts", args=[issuer.slug]),
            action_label="Open the wires",
        ),
        issuer=issuer,
    )


def subscription_to_review_notify(*, subscription: Subscription) -> None:
    """A signed subscription the issuer's admins may review (and reject) before it is paid and closed."""
    offering = subscription.offering
    notify(
        recipients=issuer_people(offering.issuer),
        event_key=f"subscription:{subscription.pk}:signed",
        message=Message(
            kind=NotificationKind.SUBSCRIPTION_TO_REVIEW,
            subject=f"{offering.title}: a subscription of {money(subscription.amount_minor, subscription.currency)} "
            "to review",
            template="offerings/notifications/subscription_to_review.txt",
            context={
                "subscription": subscription,
                "offering": offering,
                "amount": money(subscription.amount_minor, subscription.currency),
            },
            path=reverse("offering_subscriptions", args=[offering.issuer.slug, offering.public_id]),
            action_label="Review the subscriptions",
        ),
        issuer=offering.issuer,
    )
