"""Subscribing: reserve an amount under the hard cap, sign the documents, pay, cancel, reconfirm."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from compliance.eligibility import Eligibility, Reason, subscription_eligibility, verified_wallets
from compliance.exemptions import InvestorLimit
from core.audit import audit_record
from core.business_days import business_days_add
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import User
from core.money import Money
from investors.models import InvestorProfile
from offerings.agreements import signed_agreement_pdf
from offerings.models import (
    OPEN_SUBSCRIPTION_STATUSES,
    DocumentAcceptance,
    Offering,
    OfferingStatus,
    Payment,
    PaymentStatus,
    Subscription,
    SubscriptionStatus,
)
from offerings.pricing import subscription_quantity_estimate
from offerings.selectors.offerings import current_documents
from offerings.selectors.subscriptions import eligibility_context
from offerings.services.notifications import subscription_ended_notify, subscription_to_review_notify
from offerings.services.offerings import offering_terms
from offerings.services.payments import refunds_request_for
from tokens.selectors import token_setup

# Crockford base32 without I, L, O, U: nothing a person can misread on a bank form.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def wire_reference_new() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    check = REFERENCE_ALPHABET[sum(REFERENCE_ALPHABET.index(c) * (i + 1) for i, c in enumerate(body)) % 32]
    return f"TSR-{body[:4]}-{body[4:]}{check}"


def subscription_check(
    *,
    offering: Offering,
    investor: InvestorProfile,
    amount_minor: int,
    annual_income_minor: int | None = None,
    net_worth_minor: int | None = None,
) -> Eligibility:
    """The eligibility answer for an amount, without reserving anything."""
    context = eligibility_context(
        offering=offering,
        investor=investor,
        annual_income_minor=annual_income_minor,
        net_worth_minor=net_worth_minor,
    )
    return subscription_eligibility(
        investor=investor, terms=offering_terms(offering), amount_minor=amount_minor, context=context
    )


class NotEligible(ApplicationError):
    code = "not_eligible"

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(" ".join(r.message for r in reasons), extra={"reasons": [r.as_dict() for r in reasons]})
        self.reasons = reasons


def subscription_create(
    *,
    offering: Offering,
    investor: InvestorProfile,
    actor: User,
    amount_minor: int,
    annual_income_minor: int | None = None,
    net_worth_minor: int | None = None,
) -> Subscription:
    """Reserve `amount_minor` of the offering for the investor, if eligible and under the hard cap.

    The offering's row lock serialises every reservation, so commitments never pass the hard cap
    however many investors subscribe at the same instant.
    """
    for _ in range(3):
        try:
            return _create(
                offering=offering,
                investor=investor,
                actor=actor,
                amount_minor=amount_minor,
                annual_income_minor=annual_income_minor,
                net_worth_minor=net_worth_minor,
            )
        except IntegrityError as exc:  # a wire reference drawn twice: draw again
            if "wire_reference" not in str(exc):
                raise
    raise Conflict("Could not allocate a payment reference; try again.", code="reference")


@transaction.atomic
def _create(
    *,
    offering: Offering,
    investor: InvestorProfile,
    actor: User,
    amount_minor: int,
    annual_income_minor: int | None,
    net_worth_minor: int | None,
) -> Subscription:
    if investor.user_id != actor.pk:
        raise NotPermitted("You can only subscribe for your own investor account.")
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise ApplicationError("Enter the amount as a number.", code="invalid_amount")
    offering = Offering.objects.select_for_update().select_related("issuer").get(pk=offering.pk)
    setup = token_setup(owner_ref=offering.owner_ref)
    if setup.failures:
        # The token would not enforce the offering's terms on-chain: nothing is sold until it does.
        what, why = setup.failures[0]
        raise Conflict(
            f"This offering cannot take subscriptions: its token is not configured as its terms require "
            f"(“{what}” failed: {why}).",
            code="token_not_configured",
        )
    in_progress = Subscription.objects.filter(
        offering=offering, investor=investor, status__in=[SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED]
    ).first()
    if in_progress is not None:
        raise Conflict(
            "You already have a subscription in progress for this offering; continue or cancel it first.",
            code="in_progress",
            extra={"subscription": str(in_progress.public_id)},
        )
    eligibility = subscription_check(
        offering=offering,
        investor=investor,
        amount_minor=amount_minor,
        annual_income_minor=annual_income_minor,
        net_worth_minor=net_worth_minor,
    )
    if not eligibility.allowed:
        raise NotEligible(eligibility.reasons)
    room = offering.hard_cap_minor - offering.committed_minor
    if amount_minor > room:
        left = room - room % offering.price_minor
        raise Conflict(
            f"Only {Money(left, offering.currency)} of this offering is still available."
            if left > 0
            else "This offering is fully subscribed.",
            code="hard_cap",
            extra={"available_minor": left},
        )
    from compliance.eligibility import accredited_status

    _, certified = accredited_status(investor, now=timezone.now())
    wallets = verified_wallets(investor, registered=_registered(investor))
    now = timezone.now()
    quantity = subscription_quantity_estimate(offering=offering, amount_minor=amount_minor)
    if quantity < 1:
        raise ApplicationError(
            f"{Money(amount_minor, offering.currency)} buys less than one whole unit at the current price; "
            "enter a larger amount.",
            code="below_one_unit",
        )
    subscription = Subscription.objects.create(
        # Not paid by then, the reservation ends and its amount is free for others again.
        pay_by=business_days_add(now, offering.payment_due_business_days),
        offering=offering,
        investor=investor,
        amount_minor=amount_minor,
        currency=offering.currency,
        quantity=quantity,
        wire_reference=wire_reference_new(),
        wallet_address=wallets[0],
        non_accredited=offering.max_non_accredited is not None and not certified,
        annual_income_minor=annual_income_minor if offering.investor_limit != InvestorLimit.NONE else None,
        net_worth_minor=net_worth_minor if offering.investor_limit != InvestorLimit.NONE else None,
    )
    Offering.objects.filter(pk=offering.pk).update(committed_minor=F("committed_minor") + amount_minor)
    audit_record(
        actor=actor,
        action="subscription.created",
        obj=subscription,
        issuer=offering.issuer,
        after={
            "offering": offering.pk,
            "amount_minor": amount_minor,
            "quantity": subscription.quantity,
            "wallet": subscription.wallet_address,
            "pay_by": subscription.pay_by,
            # Whether figures were self-certified, never the figures: incomes stay out of the audit chain.
            "self_certified_financials": annual_income_minor is not None or net_worth_minor is not None,
        },
    )
    return subscription


def _registered(investor: InvestorProfile) -> frozenset[str]:
    from tokens.selectors import registry_wallets_confirmed

    return registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())


def _client_ip(ip: str | None) -> str | None:
    return ip or None


@transaction.atomic
def subscription_sign(
    *,
    subscription: Subscription,
    actor: User,
    accepted_document_ids: Sequence[int],
    ip_address: str | None,
    user_agent: str,
) -> Subscription:
    """Click-to-sign: record each accepted document version's hash, the time, IP and browser, and
    store the signed subscription agreement as a PDF with those details."""
    subscription = (
        Subscription.objects.select_for_update().select_related("offering", "investor").get(pk=subscription.pk)
    )
    if subscription.investor.user_id != actor.pk:
        raise NotPermitted("Only the investor signs their subscription.")
    if subscription.status != SubscriptionStatus.COMMITTED:
        raise Conflict("This subscription is already signed.", code="signed")
    documents = current_documents(offering=subscription.offering)
    wanted = {d.pk for d in documents}
    if not wanted:
        raise ApplicationError("This offering has no documents to sign yet.", code="no_documents")
    if set(accepted_document_ids) != wanted:
        raise ApplicationError(
            "Accept every current document to sign. If a document changed while you were reading, "
            "review the new version.",
            code="documents_not_accepted",
        )
    now = timezone.now()
    user_agent = (user_agent or "")[:500]
    acceptances = DocumentAcceptance.objects.bulk_create(
        [
            DocumentAcceptance(
                subscription=subscription,
                document=d,
                sha256=d.sha256,
                accepted_at=now,
                ip_address=_client_ip(ip_address),
                user_agent=user_agent,
            )
            for d in documents
        ]
    )
    subscription.status = SubscriptionStatus.SIGNED
    subscription.signed_at, subscription.signed_ip, subscription.signed_user_agent = now, ip_address, user_agent
    subscription.reconfirm_by = None
    pdf = signed_agreement_pdf(subscription=subscription, documents=documents, signed_at=now)
    subscription.agreement_sha256 = hashlib.sha256(pdf).hexdigest()
    subscription.agreement_pdf.save(f"subscription-{subscription.public_id}.pdf", ContentFile(pdf), save=False)
    subscription.save()
    audit_record(
        actor=actor,
        action="subscription.signed",
        obj=subscription,
        issuer=subscription.offering.issuer,
        before={"status": SubscriptionStatus.COMMITTED},
        after={
            "status": subscription.status,
            "documents": {str(a.document_id): a.sha256 for a in acceptances},
            "ip": ip_address,
            "user_agent": user_agent,
            "agreement_sha256": subscription.agreement_sha256,
        },
    )
    subscription_to_review_notify(subscription=subscription)
    return subscription


@transaction.atomic
def subscription_reconfirm(
    *,
    subscription: Subscription,
    actor: User,
    accepted_document_ids: Sequence[int],
    ip_address: str | None,
    user_agent: str,
) -> Subscription:
    """Reg CF 227.304(c): the investor accepts the materially changed documents and keeps the commitment."""
    subscription = Subscription.objects.select_for_update().select_related("offering").get(pk=subscription.pk)
    if subscription.investor.user_id != actor.pk:
        raise NotPermitted("Only the investor reconfirms their subscription.")
    if subscription.reconfirm_by is None:
        raise Conflict("Nothing needs reconfirming.", code="nothing_to_reconfirm")
    if subscription.status not in OPEN_SUBSCRIPTION_STATUSES:
        raise Conflict("This subscription is no longer open.", code="ended")
    documents = current_documents(offering=subscription.offering)
    if set(accepted_document_ids) != {d.pk for d in documents}:
        raise ApplicationError("Accept every current document to reconfirm.", code="documents_not_accepted")
    now = timezone.now()
    accepted = set(subscription.acceptances.values_list("document_id", flat=True))
    DocumentAcceptance.objects.bulk_create(
        [
            DocumentAcceptance(
                subscription=subscription,
                document=d,
                sha256=d.sha256,
                accepted_at=now,
                ip_address=ip_address,
                user_agent=(user_agent or "")[:500],
            )
            for d in documents
            if d.pk not in accepted
        ]
    )
    before = {"reconfirm_by": subscription.reconfirm_by}
    subscription.reconfirm_by = None
    subscription.save(update_fields=["reconfirm_by", "updated_at"])
    audit_record(actor=actor, action="subscription.reconfirmed", obj=subscription, before=before)
    return subscription


def _end(
    subscription: Subscription, *, status: str, reason: str, actor: User | None, expired: bool = False
) -> Subscription:
    """Cancel or reject a locked subscription: release its commitment and refund what it holds."""
    before = {"status": subscription.status}
    subscription.status = status
    subscription.status_reason = reason
    subscription.cancelled_at = timezone.now()
    subscription.reconfirm_by = None
    subscription.save(update_fields=["status", "status_reason", "cancelled_at", "reconfirm_by", "updated_at"])
    Offering.objects.filter(pk=subscription.offering_id).update(
        committed_minor=F("committed_minor") - subscription.amount_minor
    )
    audit_record(
        actor=actor or "system",
        action=f"subscription.{status}",
        obj=subscription,
        issuer=subscription.offering.issuer,
        before=before,
        after={"status": status, "reason": reason},
    )
    refunds_request_for(subscription=subscription, reason=reason, actor=actor)
    subscription_ended_notify(subscription=subscription, actor=actor, expired=expired)
    return subscription


def _lock_pair(subscription: Subscription) -> tuple[Offering, Subscription]:
    # Offering first, then subscription: the order every writer uses.
    offering = Offering.objects.select_for_update().get(pk=subscription.offering_id)
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("offering__issuer", "investor")
        .get(pk=subscription.pk)
    )
    return offering, locked


def cancel_deadline(offering: Offering) -> dt.datetime | None:
    """Reg CF 227.304(a): investors may cancel until 48 hours before the deadline."""
    if not offering.cancel_window_hours:
        return None
    return offering.closes_at - dt.timedelta(hours=offering.cancel_window_hours)


def cancel_refusal(subscription: Subscription, *, now: dt.datetime | None = None) -> str | None:
    """Why the investor cannot cancel now, or None when they can."""
    now = now or timezone.now()
    offering = subscription.offering
    if subscription.status not in OPEN_SUBSCRIPTION_STATUSES:
        return "This subscription is no longer open."
    if offering.status != OfferingStatus.OPEN:
        return "The offering is closing; subscriptions can no longer be cancelled."
    deadline = cancel_deadline(offering)
    if deadline is not None and now >= deadline:
        # Reg CF 227.304(a): within the last 48 hours every commitment stands, paid or not.
        return (
            f"Cancellation closed on {deadline:%d %B %Y at %H:%M} UTC, {offering.cancel_window_hours} hours "
            f"before the deadline ({offering.closes_at:%d %B %Y at %H:%M} UTC)."
        )
    if subscription.status == SubscriptionStatus.PAID and deadline is None:
        return "A paid subscription is binding; contact the issuer to withdraw it."
    return None


@transaction.atomic
def subscription_cancel(*, subscription: Subscription, actor: User, reason: str = "") -> Subscription:
    _, subscription = _lock_pair(subscription)
    if subscription.investor.user_id != actor.pk:
        raise NotPermitted("Only the investor cancels their subscription.")
    refusal = cancel_refusal(subscription)
    if refusal:
        raise Conflict(refusal, code="cannot_cancel")
    return _end(
        subscription, status=SubscriptionStatus.CANCELLED, reason=reason or "Cancelled by the investor", actor=actor
    )


@transaction.atomic
def subscription_reject(*, subscription: Subscription, actor: User, reason: str) -> Subscription:
    """The issuer declines a subscription before closing; any money goes back."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the investor a reason for the rejection.", code="reason_required")
    _, subscription = _lock_pair(subscription)
    if subscription.status not in OPEN_SUBSCRIPTION_STATUSES:
        raise Conflict("This subscription is no longer open.", code="ended")
    return _end(subscription, status=SubscriptionStatus.REJECTED, reason=reason, actor=actor)


@transaction.atomic
def subscription_end_system(*, subscription: Subscription, status: str, reason: str) -> Subscription:
    """Closing, lapsed reconfirmations and expiries end subscriptions in the system's name."""
    _, subscription = _lock_pair(subscription)
    if subscription.status not in OPEN_SUBSCRIPTION_STATUSES:
        return subscription
    return _end(subscription, status=status, reason=reason, actor=None)


def subscriptions_lapsed_end(*, now: dt.datetime | None = None) -> int:
    """Cancel the open commitments of open offerings whose reconfirmation deadline passed."""
    lapsed = Subscription.objects.filter(
        reconfirm_by__lt=now or timezone.now(),
        status__in=OPEN_SUBSCRIPTION_STATUSES,
        offering__status=OfferingStatus.OPEN,
    )
    ended = 0
    for subscription in lapsed:
        # Reg CF 227.304(c): not reconfirmed within five business days of a material change.
        subscription_end_system(
            subscription=subscription,
            status=SubscriptionStatus.CANCELLED,
            reason="Not reconfirmed within five business days after a material change; your payment is refunded.",
        )
        ended += 1
    return ended


UNPAID_STATUSES = (SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED)


def subscriptions_expire_unpaid(*, now: dt.datetime | None = None, limit: int = 500) -> list[Subscription]:
    """End reservations not paid in time, so no investor holds part of the hard cap without paying.

    A subscription whose payment the provider is still processing waits for the outcome; money that
    arrives after the end is refunded (payments._refund_if_ended).
    """
    now = now or timezone.now()
    due = (
        Subscription.objects.filter(pay_by__lt=now, status__in=UNPAID_STATUSES, offering__status=OfferingStatus.OPEN)
        .exclude(payments__status=PaymentStatus.PROCESSING)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    ended = []
    for pk in list(due):
        with transaction.atomic():
            _, subscription = _lock_pair(Subscription.objects.only("pk", "offering_id").get(pk=pk))
            if subscription.status not in UNPAID_STATUSES or subscription.pay_by is None or subscription.pay_by >= now:
                continue
            if subscription.payments.filter(status=PaymentStatus.PROCESSING).exists():
                continue
            days = subscription.offering.payment_due_business_days
            _end(
                subscription,
                status=SubscriptionStatus.CANCELLED,
                reason=(
                    f"Not paid within {days} business days (by {subscription.pay_by:%d %B %Y at %H:%M} UTC): the "
                    "reservation has ended and its amount is released. Any part payment is refunded; you may "
                    "subscribe again while the offering is open."
                ),
                actor=None,
                expired=True,
            )
            ended.append(subscription)
    return ended


def subscription_payment_start(*, subscription: Subscription, actor: User, provider: str, return_url: str) -> Payment:
    """Begin paying through one provider. The provider's own call happens outside the lock."""
    from offerings.payments import payment_provider

    with transaction.atomic():
        locked = Subscription.objects.select_for_update().select_related("offering", "investor").get(pk=subscription.pk)
        if locked.investor.user_id != actor.pk:
            raise NotPermitted("Only the investor pays for their subscription.")
        if locked.status == SubscriptionStatus.COMMITTED:
            raise Conflict("Sign the subscription documents before paying.", code="unsigned")
        if locked.status != SubscriptionStatus.SIGNED:
            raise Conflict("This subscription does not need a payment.", code="no_payment_due")
        if locked.offering.status != OfferingStatus.OPEN:
            raise Conflict("The offering is no longer taking payments.", code="closed")
        method = payment_provider(provider)
        if not method.supports(locked.offering):
            raise ApplicationError(f"{method.verbose_name} is not available for this offering.", code="unsupported")
        if locked.payment_provider != provider:
            before = {"payment_provider": locked.payment_provider}
            locked.payment_provider = provider
            locked.save(update_fields=["payment_provider", "updated_at"])
            audit_record(
                actor=actor,
                action="subscription.payment_method_chosen",
                obj=locked,
                issuer=locked.offering.issuer,
                before=before,
                after={"payment_provider": provider},
            )
    # The provider writes its Payment row and that row's audit event in one transaction ("payment.started").
    return method.start(locked, return_url=return_url)
