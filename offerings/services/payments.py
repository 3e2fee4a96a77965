"""The payment ledger: every money movement is one immutable `PaymentEntry`.

Providers call these functions; each locks the subscription, writes the entry once (its provider id
is unique, so a duplicate or late notification changes nothing), keeps `paid_minor` equal to the
sum of the entries, and moves the subscription along. Refunds leave through the provider that took
the money, after commit, and are booked when the provider reports them succeeded, matched to the
portal's refund by reference and amount. Money taken back after tokens were allocated (a chargeback,
a refund made elsewhere) opens a case (`offerings.services.cases`).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.approvals import ApprovalKind, ApprovalOutcome, approval_kind_register, approval_propose
from core.audit import Actor, audit_record
from core.errors import ApplicationError, Conflict
from core.models import ApprovalRequest, User
from core.money import Money
from core.tasks import task_enqueue_on_commit
from offerings.models import (
    HAND_REFUND_PROVIDERS,
    OPEN_REFUND_STATUSES,
    CaseKind,
    EntryKind,
    Payment,
    PaymentEntry,
    PaymentStatus,
    Refund,
    RefundPurpose,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
)
from offerings.services.notifications import payment_received_notify, refund_sent_notify

log = logging.getLogger(__name__)

SIGN = {
    EntryKind.RECEIVED: 1,
    EntryKind.DISPUTE_WON: 1,
    EntryKind.REFUND_REVERSED: 1,
    EntryKind.REFUND: -1,
    EntryKind.DISPUTE: -1,
    EntryKind.REORG_REVERSAL: -1,
}
ENDED = (SubscriptionStatus.CANCELLED, SubscriptionStatus.REJECTED)
# Tokens exist (or are on their way) for these: money taken back from them opens a case.
TOKENS_ALLOCATED = (SubscriptionStatus.ALLOCATED, SubscriptionStatus.ISSUED)


def _lock(subscription_id: int) -> Subscription:
    # The subscription's row only (`of`): its offering is read, not locked, so no lock comes after it.
    return Subscription.objects.select_for_update(of=("self",)).select_related("offering").get(pk=subscription_id)


def payment_net_minor(payment: Payment) -> int:
    """What the portal still holds from one payment."""
    return int(payment.entries.aggregate(total=Sum("amount_minor"))["total"] or 0)


def _record(
    *,
    payment: Payment,
    kind: str,
    amount_minor: int,
    currency: str,
    external_ref: str,
    occurred_at: dt.datetime | None,
    actor: Actor,
    note: str,
) -> tuple[PaymentEntry, Subscription, bool]:
    if amount_minor <= 0:
        raise ApplicationError("A money movement has an amount above zero.", code="invalid_amount")
    if not external_ref:
        raise ApplicationError("A money movement needs the provider's reference.", code="reference_missing")
    subscription = _lock(payment.subscription_id)
    existing = PaymentEntry.objects.filter(provider=payment.provider, kind=kind, external_ref=external_ref).first()
    if existing is not None:
        return existing, subscription, False
    if currency.upper() != subscription.currency:
        raise ApplicationError(
            f"The provider reported {money(amount_minor, currency.upper())}, but the subscription is "
            f"{money(subscription.amount_minor, subscription.currency)}; nothing was booked.",
            code="currency_mismatch",
        )
    signed = SIGN[EntryKind(kind)] * amount_minor
    entry = PaymentEntry.objects.create(
        subscription=subscription,
        payment=payment,
        provider=payment.provider,
        kind=kind,
        amount_minor=signed,
        currency=subscription.currency,
        external_ref=external_ref,
        occurred_at=occurred_at or timezone.now(),
        recorded_by=actor if isinstance(actor, User) else None,
        note=note,
    )
    before = {"paid_minor": subscription.paid_minor, "status": subscription.status}
    subscription.paid_minor += signed
    _settle(subscription)
    subscription.save(update_fields=["paid_minor", "status", "paid_at", "status_reason", "updated_at"])
    audit_record(
        actor=actor or payment.provider,
        action=f"payment.{kind}",
        obj=subscription,
        issuer=subscription.offering.issuer,
        before=before,
        after={
            "paid_minor": subscription.paid_minor,
            "status": subscription.status,
            "entry": entry.pk,
            "amount_minor": signed,
            "provider": payment.provider,
            "external_ref": external_ref,
        },
    )
    return entry, subscription, True


def _settle(subscription: Subscription) -> None:
    """Move the subscription by what it holds now (the row is locked)."""
    if subscription.status in (SubscriptionStatus.COMMITTED, SubscriptionStatus.SIGNED):
        if subscription.status == SubscriptionStatus.SIGNED and subscription.paid_minor >= subscription.amount_minor:
            subscription.status = SubscriptionStatus.PAID
            subscription.paid_at = timezone.now()
            subscription.status_reason = ""
    elif subscription.status == SubscriptionStatus.PAID and subscription.paid_minor < subscription.amount_minor:
        subscription.status = SubscriptionStatus.SIGNED
        subscription.paid_at = None
        subscription.status_reason = "A payment was reversed; the amount outstanding must be paid again."


def _refund_if_ended(subscription: Subscription, payment: Payment, actor: Actor) -> None:
    """Money that arrives for a subscription that already ended goes back."""
    if subscription.status in ENDED:
        refund_request(payment=payment, reason=subscription.status_reason or "Subscription ended", actor=actor)


@transaction.atomic
def payment_received(
    *,
    payment: Payment,
    amount_minor: int,
    currency: str,
    external_ref: str,
    occurred_at: dt.datetime | None = None,
    actor: Actor = None,
    note: str = "",
) -> PaymentEntry:
    entry, subscription, created = _record(
        payment=payment,
        kind=EntryKind.RECEIVED,
        amount_minor=amount_minor,
        currency=currency,
        external_ref=external_ref,
        occurred_at=occurred_at,
        actor=actor,
        note=note,
    )
    if created:
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.SUCCEEDED, updated_at=timezone.now())
        if subscription.status not in ENDED:
            payment_received_notify(entry=entry, subscription=subscription)
        _refund_if_ended(subscription, payment, actor)
    return entry


def _refund_matching(payment: Payment, *, external_ref: str, amount_minor: int, refund_id: int | None) -> Refund | None:
    """The portal's refund this movement is: same reference (or our own id in its metadata) and same amount.

    A smaller refund made elsewhere never closes the portal's full refund.
    """
    rows = Refund.objects.select_for_update().filter(payment=payment, amount_minor=amount_minor)
    if refund_id is not None:
        found = rows.filter(pk=refund_id).first()
        if found is not None:
            return found
    return rows.filter(external_ref=external_ref).first() if external_ref else None


@transaction.atomic
def refund_recorded(
    *,
    payment: Payment,
    amount_minor: int,
    currency: str,
    external_ref: str,
    occurred_at: dt.datetime | None = None,
    actor: User | None = None,
    note: str = "",
    refund_id: int | None = None,
) -> PaymentEntry:
    """Money went back to the investor and the provider says it arrived (or a person sent it by hand).

    It closes the portal's refund it matches by reference and amount; a refund nobody asked for
    here (made in the provider's dashboard) is booked as what it is, and opens a case when tokens
    are already allocated.
    """
    entry, subscription, created = _record(
        payment=payment,
        kind=EntryKind.REFUND,
        amount_minor=amount_minor,
        currency=currency,
        external_ref=external_ref,
        occurred_at=occurred_at,
        actor=actor,
        note=note,
    )
    refund = _refund_matching(payment, external_ref=external_ref, amount_minor=amount_minor, refund_id=refund_id)
    if refund is not None:
        if refund.status != RefundStatus.SENT:
            before = {"status": refund.status}
            refund.status, refund.external_ref = RefundStatus.SENT, external_ref
            refund.completed_at, refund.failure_reason = timezone.now(), ""
            refund.save(update_fields=["status", "external_ref", "completed_at", "failure_reason"])
            audit_record(
                actor=actor or payment.provider,
                action="refund.succeeded",
                obj=refund,
                issuer=subscription.offering.issuer,
                before=before,
                after={"status": refund.status, "external_ref": external_ref, "entry": entry.pk},
            )
    elif created and subscription.status in TOKENS_ALLOCATED:
        from offerings.services.cases import case_open

        case_open(
            subscription=subscription,
            kind=CaseKind.OUTSIDE_REFUND,
            external_ref=external_ref,
            amount_minor=amount_minor,
            provider_status="succeeded",
        )
    return entry


@transaction.atomic
def refund_failed(
    *,
    payment: Payment,
    amount_minor: int,
    external_ref: str,
    reason: str,
    refund_id: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> PaymentEntry | None:
    """The provider reports a refund failed or was cancelled. A refund already booked is reversed
    (the money is back with the portal); the portal's refund is marked failed, for a person to act."""
    subscription = _lock(payment.subscription_id)
    reversal = None
    booked = PaymentEntry.objects.filter(provider=payment.provider, kind=EntryKind.REFUND, external_ref=external_ref)
    if external_ref and booked.exists():
        reversal, subscription, _ = _record(
            payment=payment,
            kind=EntryKind.REFUND_REVERSED,
            amount_minor=-booked.get().amount_minor,
            currency=payment.currency,
            external_ref=external_ref,
            occurred_at=occurred_at,
            actor=None,
            note=reason,
        )
    refund = _refund_matching(payment, external_ref=external_ref, amount_minor=amount_minor, refund_id=refund_id)
    if refund is not None and refund.status != RefundStatus.FAILED:
        before = {"status": refund.status}
        refund.status, refund.failure_reason = RefundStatus.FAILED, reason or "The provider reports the refund failed."
        refund.external_ref = external_ref or refund.external_ref
        refund.completed_at = None
        refund.save(update_fields=["status", "failure_reason", "external_ref", "completed_at"])
        audit_record(
            actor=payment.provider,
            action="refund.failed",
            obj=refund,
            issuer=subscription.offering.issuer,
            before=before,
            after={"status": refund.status, "reason": refund.failure_reason, "reversed": bool(reversal)},
        )
    return reversal


@transaction.atomic
def dispute_recorded(
    *,
    payment: Payment,
    amount_minor: int,
    currency: str,
    external_ref: str,
    won: bool = False,
    actor: User | None = None,
    provider_status: str = "",
) -> PaymentEntry:
    """A card dispute withdrew the money (or, won, returned it).

    A dispute opens a case: tokens allocated or issued are frozen for it; before issuance the
    subscription is flagged for the issuer's review. Either way the issuer is told.
    """
    from offerings.services.cases import case_dispute_won, case_open

    entry, subscription, created = _record(
        payment=payment,
        kind=EntryKind.DISPUTE_WON if won else EntryKind.DISPUTE,
        amount_minor=amount_minor,
        currency=currency,
        external_ref=external_ref,
        occurred_at=None,
        actor=actor,
        note="",
    )
    if won:
        if created:
            case_dispute_won(subscription=subscription, external_ref=external_ref)
    else:
        case_open(
            subscription=subscription,
            kind=CaseKind.DISPUTE,
            external_ref=external_ref,
            amount_minor=amount_minor,
            provider_status=provider_status,
        )
    return entry


@transaction.atomic
def payment_reversed(
    *, payment: Payment, amount_minor: int, currency: str, external_ref: str, actor: Actor = None, note: str = ""
) -> PaymentEntry:
    """Money credited from the chain is no longer there (a reorg past finality): a compensating entry.

    The payment is open again when it holds nothing, so the same money arriving again pays it.
    """
    entry, _, created = _record(
        payment=payment,
        kind=EntryKind.REORG_REVERSAL,
        amount_minor=amount_minor,
        currency=currency,
        external_ref=external_ref,
        occurred_at=None,
        actor=actor,
        note=note,
    )
    if created and payment_net_minor(payment) <= 0:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.SUCCEEDED).update(
            status=PaymentStatus.PROCESSING, updated_at=timezone.now()
        )
    return entry


@transaction.atomic
def payment_status_set(*, payment: Payment, status: str, reason: str = "") -> Payment:
    """Failed, expired or processing. A payment that succeeded stays succeeded (events arrive out of order)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status == PaymentStatus.SUCCEEDED or payment.status == status:
        return payment
    if payment.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED) and status == PaymentStatus.PROCESSING:
        return payment
    before = {"status": payment.status}
    payment.status = status
    payment.failure_reason = reason
    payment.save(update_fields=["status", "failure_reason", "updated_at"])
    audit_record(
        actor=payment.provider,
        action=f"payment.{status}",
        obj=payment,
        issuer=payment.subscription.offering.issuer,
        before=before,
        after={"status": status, "reason": reason},
    )
    return payment


@transaction.atomic
def refund_request(*, payment: Payment, reason: str, actor: Actor = None) -> Refund | None:
    """Owe the investor what `payment` still holds; sent after commit through the same provider."""
    Subscription.objects.select_for_update().filter(pk=payment.subscription_id).first()
    net = payment_net_minor(payment)
    existing = Refund.objects.filter(payment=payment, purpose=RefundPurpose.FULL).first()
    if existing is not None:
        if existing.status == RefundStatus.SENT and net > 0:
            log.warning("payment %s holds %s after its refund was sent; a person must look", payment.pk, net)
        return existing
    if net <= 0:
        return None
    refund = Refund.objects.create(
        subscription_id=payment.subscription_id,
        payment=payment,
        provider=payment.provider,
        amount_minor=net,
        currency=payment.currency,
        reason=reason[:200],
    )
    audit_record(
        actor=actor or "system",
        action="refund.requested",
        obj=refund,
        issuer=payment.subscription.offering.issuer,
        after={"amount_minor": net, "provider": payment.provider, "reason": reason},
    )
    _refund_send_on_commit(refund)
    return refund


def _refund_send_on_commit(refund: Refund) -> None:
    from offerings.tasks import refund_send_task

    task_enqueue_on_commit(refund_send_task, refund.pk, when_broker_down="the closing beat sends requested refunds")


@transaction.atomic
def refunds_request_for(*, subscription: Subscription, reason: str, actor: User | None = None) -> list[Refund]:
    refunds = []
    for payment in subscription.payments.order_by("pk"):
        refund = refund_request(payment=payment, reason=reason, actor=actor)
        if refund is not None:
            refunds.append(refund)
    return refunds


def _refund_key(refund_id: int, attempt: int) -> str:
    # A retry after a failure the provider confirmed is a new request; a repeat of the same attempt is not.
    return f"tessera-refund-{refund_id}" if attempt <= 1 else f"tessera-refund-{refund_id}-{attempt}"


def refund_send(*, refund_id: int) -> Refund:
    """Ask the provider to send a requested refund. One provider idempotency key per attempt.

    It is booked only when the provider reports it succeeded: at once when the answer says so,
    later (webhook, chain confirmation, `refunds_pending_settle`) when it is pending.

    The provider is called outside any database transaction (no row stays locked while Stripe
    answers). Nothing is written before the call, so a repeated or interrupted send of the same
    attempt uses the same idempotency key and is the same refund at the provider; the answer is
    recorded afterwards, under the locks, with its audit event.
    """
    from offerings.payments import PaymentError, payment_provider

    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != RefundStatus.REQUESTED or refund.external_ref == "manual":
        return refund
    attempt = refund.attempts + 1
    try:
        result = payment_provider(refund.provider).refund(
            refund.payment,
            amount_minor=refund.amount_minor,
            idempotency_key=_refund_key(refund.pk, attempt),
            refund=refund,
        )
    except PaymentError as exc:
        with transaction.atomic():
            _lock(refund.subscription_id)  # the subscription before its refund, as every writer does
            refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
            if refund.status != RefundStatus.REQUESTED:
                return refund  # recorded meanwhile (by the provider's webhook, or a concurrent send)
            refund.attempts = max(refund.attempts, attempt)
            refund.status, refund.failure_reason = RefundStatus.FAILED, exc.message
            refund.save(update_fields=["status", "failure_reason", "attempts"])
            audit_record(actor="system", action="refund.failed", obj=refund, after={"reason": exc.message})
        return refund
    with transaction.atomic():
        _lock(refund.subscription_id)
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if refund.status != RefundStatus.REQUESTED:
            return refund
        refund.attempts = max(refund.attempts, attempt)
        if not result.sent:
            refund.external_ref = "manual"  # waits for a person to send it and record it
            refund.save(update_fields=["attempts", "external_ref"])
            audit_record(
                actor="system",
                action="refund.moved_to_manual",
                obj=refund,
                issuer=refund.payment.subscription.offering.issuer,
                after={"external_ref": "manual", "provider": refund.provider},
            )
            return refund
        if result.failed:
            refund.status, refund.failure_reason = RefundStatus.FAILED, result.failure_reason
            refund.external_ref = result.external_ref
            refund.save(update_fields=["status", "failure_reason", "attempts", "external_ref"])
            audit_record(actor="system", action="refund.failed", obj=refund, after={"reason": result.failure_reason})
            return refund
        refund.status, refund.external_ref = RefundStatus.PENDING, result.external_ref
        refund.save(update_fields=["attempts", "status", "external_ref"])
        audit_record(
            actor="system",
            action="refund.sent",
            obj=refund,
            issuer=refund.payment.subscription.offering.issuer,
            after={"status": refund.status, "external_ref": result.external_ref, "settled": result.settled},
        )
        refund_sent_notify(refund=refund)
        if result.settled:
            refund_recorded(
                payment=refund.payment,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                external_ref=result.external_ref,
                note=refund.reason,
                refund_id=refund.pk,
            )
    refund.refresh_from_db()
    return refund


def refunds_stale_send(*, older_than: dt.timedelta = dt.timedelta(minutes=2), limit: int = 200) -> int:
    """Send again the refunds still requested a while after they were asked for (a lost task)."""
    stale = timezone.now() - older_than
    ids = list(
        Refund.objects.filter(status=RefundStatus.REQUESTED, requested_at__lt=stale)
        .exclude(external_ref="manual")
        .values_list("pk", flat=True)[:limit]
    )
    for refund_id in ids:
        refund_send(refund_id=refund_id)
    return len(ids)


def refunds_pending_settle(*, limit: int = 200) -> int:
    """Book the refunds whose provider now reports them succeeded; mark failed the ones it reports failed.

    The beat runs this so a stablecoin refund is booked once its transfer is confirmed, and a
    pending Stripe refund whose webhook never came is still settled.
    """
    from offerings.payments import PaymentError, payment_provider

    settled = 0
    rows = Refund.objects.filter(status=RefundStatus.PENDING).select_related("payment").order_by("pk")[:limit]
    for refund in rows:
        try:
            state = payment_provider(refund.provider).refund_state(refund)
        except PaymentError as exc:
            log.warning("refund %s: the provider could not say how it stands: %s", refund.pk, exc.message)
            continue
        if state.status == "succeeded":
            refund_recorded(
                payment=refund.payment,
                amount_minor=state.amount_minor or refund.amount_minor,
                currency=refund.currency,
                external_ref=refund.external_ref,
                note=refund.reason,
                refund_id=refund.pk,
            )
            settled += 1
        elif state.status == "failed":
            refund_failed(
                payment=refund.payment,
                amount_minor=refund.amount_minor,
                external_ref=refund.external_ref,
                reason=state.reason,
                refund_id=refund.pk,
            )
            settled += 1
    return settled


@transaction.atomic
def refund_retry(*, refund: Refund, actor: User) -> Refund:
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.FAILED:
        raise Conflict("Only a failed refund can be tried again.", code="not_failed")
    refund.status, refund.failure_reason = RefundStatus.REQUESTED, ""
    refund.save(update_fields=["status", "failure_reason"])
    audit_record(actor=actor, action="refund.retried", obj=refund)
    _refund_send_on_commit(refund)
    return refund


REFUND_MARK_SENT = "refund.mark_sent"


def _refund_sendable_by_hand(refund: Refund, bank_reference: str) -> None:
    if refund.provider not in HAND_REFUND_PROVIDERS:
        raise ApplicationError(
            f"This refund goes back through {refund.provider}, not by hand; it is booked when {refund.provider} "
            "reports it. Retry it instead if it failed.",
            code="not_by_hand",
        )
    if not bank_reference:
        raise ApplicationError("Enter the bank's reference of the refund wire.", code="reference_missing")
    if refund.status == RefundStatus.SENT:
        raise Conflict("This refund is already recorded as sent.", code="sent")


def _refund_mark_sent_perform(request: ApprovalRequest, actor: User) -> Refund:
    refund = Refund.objects.get(pk=int(request.object_id))
    return refund_mark_sent(refund=refund, actor=actor, bank_reference=request.payload["bank_reference"])


approval_kind_register(
    ApprovalKind(kind=REFUND_MARK_SENT, label="Record a refund wire as sent", perform=_refund_mark_sent_perform)
)


@transaction.atomic
def refund_sent_propose(*, refund: Refund, actor: User, bank_reference: str) -> ApprovalOutcome:
    """A person says they wired a refund back: recorded now within the issuer's four-eyes threshold,
    else once a second admin approves."""
    refund = Refund.objects.select_related("subscription__offering__issuer").get(pk=refund.pk)
    bank_reference = bank_reference.strip()
    _refund_sendable_by_hand(refund, bank_reference)
    return approval_propose(
        issuer=refund.subscription.offering.issuer,
        kind=REFUND_MARK_SENT,
        proposer=actor,
        summary=f"Refund of {Money(refund.amount_minor, refund.currency)} wired back, bank reference "
        f"{bank_reference[:100]}",
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        payload={"bank_reference": bank_reference[:200]},
        obj=refund,
    )


@transaction.atomic
def refund_mark_sent(*, refund: Refund, actor: User, bank_reference: str) -> Refund:
    """A person sent a refund the provider cannot send itself (a wire back) and records it."""
    _lock(refund.subscription_id)  # the subscription before its refund, as every writer does
    refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund.pk)
    bank_reference = bank_reference.strip()
    _refund_sendable_by_hand(refund, bank_reference)
    refund_recorded(
        payment=refund.payment,
        amount_minor=refund.amount_minor,
        currency=refund.currency,
        external_ref=f"refund:{bank_reference}",
        actor=actor,
        note=refund.reason,
        refund_id=refund.pk,
    )
    refund.refresh_from_db()
    refund.completed_by = actor
    refund.save(update_fields=["completed_by"])
    refund_sent_notify(refund=refund)
    return refund


def overpaid_minor(subscription: Subscription) -> int:
    """What the portal holds beyond what the subscription needs, less refunds already on their way."""
    needed = 0 if subscription.status in ENDED else subscription.amount_minor
    in_flight = int(
        Refund.objects.filter(subscription=subscription, status__in=OPEN_REFUND_STATUSES).aggregate(
            total=Sum("amount_minor")
        )["total"]
        or 0
    )
    return max(subscription.paid_minor - needed - in_flight, 0)


@transaction.atomic
def overpayment_refund(*, subscription: Subscription, actor: User) -> list[Refund]:
    """Send back what was paid beyond the subscription, through the provider(s) that took it, newest first."""
    subscription = _lock(subscription.pk)
    excess = overpaid_minor(subscription)
    if excess <= 0:
        raise Conflict("Nothing was paid beyond this subscription.", code="not_overpaid")
    refunds: list[Refund] = []
    for payment in subscription.payments.order_by("-pk"):
        if excess <= 0:
            break
        in_flight = int(
            Refund.objects.filter(payment=payment, status__in=OPEN_REFUND_STATUSES).aggregate(
                total=Sum("amount_minor")
            )["total"]
            or 0
        )
        available = payment_net_minor(payment) - in_flight
        if available <= 0:
            continue
        amount = min(available, excess)
        refund = Refund.objects.create(
            subscription=subscription,
            payment=payment,
            purpose=RefundPurpose.EXCESS,
            provider=payment.provider,
            amount_minor=amount,
            currency=payment.currency,
            reason="Paid beyond the subscription",
        )
        audit_record(
            actor=actor,
            action="refund.requested",
            obj=refund,
            issuer=subscription.offering.issuer,
            after={"amount_minor": amount, "provider": payment.provider, "purpose": RefundPurpose.EXCESS},
        )
        _refund_send_on_commit(refund)
        refunds.append(refund)
        excess -= amount
    if not refunds:
        raise Conflict("No payment holds the excess any more.", code="not_overpaid")
    return refunds


def money(minor: int, currency: str) -> str:
    """An amount for people to read; a currency the portal does not use is shown in minor units."""
    try:
        return str(Money(minor, currency))
    except ValueError:
        return f"{minor:,} minor units of {currency or 'an unnamed currency'}"
