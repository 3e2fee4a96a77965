"""Four eyes on money moved by hand: one admin proposes, another approves, and only then is it booked."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.utils import timezone

from core.approvals import approval_approve, approval_reject, four_eyes_threshold_propose
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, ApprovalState, AuditEvent, Issuer, Role
from core.tests.factories import MembershipFactory
from investors.tests.support import verified_investor
from offerings.models import Payment, Refund, RefundStatus, SubscriptionStatus, WireReceipt
from offerings.services.payments import refund_sent_propose
from offerings.services.wires import wire_receipt_propose
from offerings.tests.support import offering_open, subscribed

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _wire_form(subscription, amount: str = "2000.00") -> dict[str, str]:
    return {
        "reference": subscription.wire_reference,
        "amount": amount,
        "currency": "USD",
        "received_on": timezone.localdate().isoformat(),
        "bank_reference": f"IMAD-{subscription.wire_reference}",
    }


def test_a_wire_recorded_by_hand_is_booked_only_when_a_second_admin_approves(cast) -> None:
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    offering = offering_open(cast.issuer, cast.admin)
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    maker = _client(cast.admin)
    page = maker.post(f"/issuers/{cast.issuer.slug}/wires/", _wire_form(subscription), follow=True).content.decode()
    assert "waits for a second admin of Harbor Street Capital" in page
    assert not WireReceipt.objects.exists()
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0
    approval = ApprovalRequest.objects.get()
    # The same bank wire proposed again waits once.
    twice = maker.post(f"/issuers/{cast.issuer.slug}/wires/", _wire_form(subscription)).content.decode()
    assert "already waiting for approval" in twice and ApprovalRequest.objects.count() == 1
    # The one who proposed it cannot approve it.
    own = maker.post(
        f"/issuers/{cast.issuer.slug}/approvals/{approval.pk}/", {"decision": "approve"}, follow=True
    ).content.decode()
    assert "another admin of the issuer must approve it" in own
    assert not WireReceipt.objects.exists()
    checker = _client(second)
    listed = checker.get(f"/issuers/{cast.issuer.slug}/approvals/").content.decode()
    assert "Record a wire of 2,000.00 USD" in listed and cast.admin.email in listed
    done = checker.post(
        f"/issuers/{cast.issuer.slug}/approvals/{approval.pk}/", {"decision": "approve"}, follow=True
    ).content.decode()
    assert "Approved and done" in done
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00 and subscription.status == SubscriptionStatus.PAID
    assert WireReceipt.objects.get().amount_minor == 2_000_00
    event = AuditEvent.objects.get(action="approval.approved")
    assert event.actor_id == second.pk and event.after is not None and event.after["proposed_by"] == cast.admin.pk
    # Approving again changes nothing.
    again = checker.post(f"/issuers/{cast.issuer.slug}/approvals/{approval.pk}/", {"decision": "approve"}, follow=True)
    assert "already approved and done" in again.content.decode()
    assert WireReceipt.objects.count() == 1


def test_under_the_issuers_threshold_one_admin_records_the_wire(cast) -> None:
    Issuer.objects.filter(pk=cast.issuer.pk).update(four_eyes_threshold_minor=5_000_00)
    offering = offering_open(cast.issuer, cast.admin)
    small = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    page = _client(cast.admin).post(f"/issuers/{cast.issuer.slug}/wires/", _wire_form(small), follow=True)
    assert "recorded: Matched, amount as expected" in page.content.decode()
    assert not ApprovalRequest.objects.exists()
    big = subscribed(offering, verified_investor(accreditation="verified"), 6_000_00)
    outcome = wire_receipt_propose(
        issuer=cast.issuer,
        actor=cast.admin,
        reference=big.wire_reference,
        amount_minor=6_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=f"IMAD-{big.wire_reference}",
    )
    assert outcome.pending and WireReceipt.objects.count() == 1


def test_compliance_officers_do_not_record_payments(cast) -> None:
    officer = _client(cast.compliance)
    assert officer.get(f"/issuers/{cast.issuer.slug}/wires/").status_code == 403
    assert officer.get(f"/issuers/{cast.issuer.slug}/approvals/").status_code == 403


def test_loosening_the_threshold_needs_a_second_admin_and_tightening_does_not(cast) -> None:
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    outcome = four_eyes_threshold_propose(issuer=cast.issuer, actor=cast.admin, threshold_minor=1_000_000_00)
    assert outcome.pending
    assert Issuer.objects.get(pk=cast.issuer.pk).four_eyes_threshold_minor == 0
    assert outcome.request is not None
    approval_approve(request=outcome.request, actor=second)
    assert Issuer.objects.get(pk=cast.issuer.pk).four_eyes_threshold_minor == 1_000_000_00
    stricter = four_eyes_threshold_propose(issuer=cast.issuer, actor=cast.admin, threshold_minor=0)
    assert not stricter.pending and Issuer.objects.get(pk=cast.issuer.pk).four_eyes_threshold_minor == 0


def test_a_refund_is_marked_sent_only_if_it_leaves_by_hand_and_after_a_second_admin(cast) -> None:
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    offering = offering_open(cast.issuer, cast.admin)
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 1_000_00)
    payment = Payment.objects.create(
        subscription=subscription, provider="stripe", amount_minor=1_000_00, currency="USD", external_id="cs_1"
    )
    stripe_refund = Refund.objects.create(
        subscription=subscription,
        payment=payment,
        provider="stripe",
        amount_minor=1_000_00,
        currency="USD",
        reason="test",
        external_ref="manual",
    )
    with pytest.raises(ApplicationError, match="goes back through stripe, not by hand"):
        refund_sent_propose(refund=stripe_refund, actor=cast.admin, bank_reference="OUT-1")
    wire_payment = Payment.objects.create(
        subscription=subscription, provider="wire", amount_minor=1_000_00, currency="USD", external_id="w-1"
    )
    wire_refund = Refund.objects.create(
        subscription=subscription,
        payment=wire_payment,
        provider="wire",
        amount_minor=1_000_00,
        currency="USD",
        reason="test",
        external_ref="manual",
    )
    outcome = refund_sent_propose(refund=wire_refund, actor=cast.admin, bank_reference="OUT-2")
    assert outcome.pending
    with pytest.raises(Conflict, match="already waiting for approval"):
        refund_sent_propose(refund=wire_refund, actor=cast.admin, bank_reference="OUT-2")
    assert outcome.request is not None
    with pytest.raises(ApplicationError, match="Say why"):
        approval_reject(request=outcome.request, actor=second)
    rejected = approval_reject(request=outcome.request, actor=second, note="No such wire on the statement")
    assert rejected.state == ApprovalState.REJECTED
    assert Refund.objects.get(pk=wire_refund.pk).status != RefundStatus.SENT


def test_the_database_refuses_an_approval_by_its_proposer(cast) -> None:
    approval = ApprovalRequest.objects.create(
        issuer=cast.issuer, kind="wire.record", summary="x", proposed_by=cast.admin, payload={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=approval.pk).update(decided_by=cast.admin, state="approved")
    with pytest.raises(NotPermitted):
        approval_approve(request=approval, actor=cast.admin)


@pytest.mark.django_db(transaction=True)
def test_two_admins_approving_at_once_book_the_wire_once(cast) -> None:
    checkers = [MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user for _ in range(4)]
    offering = offering_open(cast.issuer, cast.admin)
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    outcome = wire_receipt_propose(
        issuer=cast.issuer,
        actor=cast.admin,
        reference=subscription.wire_reference,
        amount_minor=2_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=f"IMAD-{subscription.wire_reference}",
    )
    assert outcome.request is not None
    request = outcome.request
    people = [*checkers, cast.admin]  # the proposer tries too
    start = threading.Barrier(len(people))
    results: dict[int, str] = {}
    lock = threading.Lock()

    def approve(user) -> None:
        try:
            start.wait()
            approval_approve(request=request, actor=user)
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            results[user.pk] = result

    threads = [threading.Thread(target=approve, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert list(results.values()).count("ok") == 1, results
    assert results[cast.admin.pk] in {"four_eyes", "decided"}
    assert set(results.values()) <= {"ok", "decided", "four_eyes"}
    assert WireReceipt.objects.count() == 1
    # Once booked, proposing that wire again is refused at once.
    with pytest.raises(Conflict, match="already recorded by hand"):
        wire_receipt_propose(
            issuer=cast.issuer,
            actor=cast.admin,
            reference=subscription.wire_reference,
            amount_minor=2_000_00,
            currency="USD",
            received_on=timezone.localdate(),
            bank_reference=f"IMAD-{subscription.wire_reference}",
        )
    subscription.refresh_from_db()
    assert subscription.paid_minor == 2_000_00
    assert ApprovalRequest.objects.get(pk=request.pk).decided_by_id != cast.admin.pk
    assert connection.vendor in ("postgresql", "sqlite")
