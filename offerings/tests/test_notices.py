"""Everyone waiting on a subscription is told each step once, with a link that opens the page that shows it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.approvals import approval_approve
from core.models import Notification, NotificationKind, Role
from core.tests.factories import MembershipFactory
from core.tests.support import Cast, told_once
from investors.tests.support import verified_investor
from offerings.services.documents import document_upload
from offerings.services.notifications import material_change_notify
from offerings.services.payments import refund_sent_propose
from offerings.services.subscriptions import subscription_reject
from offerings.services.wires import bank_statement_import
from offerings.tests.support import offering_open, pdf, subscribed, wire_received

pytestmark = pytest.mark.django_db


def test_a_subscription_from_signature_to_refund_tells_each_person_each_step_once(cast: Cast) -> None:
    second_admin = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)

    # Signed: the issuer's admins have a subscription to review.
    for admin in (cast.admin, second_admin):
        review = told_once(admin, NotificationKind.SUBSCRIPTION_TO_REVIEW)
        assert "2,000.00 USD" in review.subject and review.path.endswith("/subscriptions/")

    # The wire arrives: the investor hears it, the admin who did not record it hears of the wire.
    wire_received(cast.issuer, cast.admin, subscription, 2_000_00)
    received = told_once(investor.user, NotificationKind.PAYMENT_RECEIVED)
    assert "paid in full" in received.body and received.path == f"/subscriptions/{subscription.public_id}/"
    wire = told_once(second_admin, NotificationKind.WIRE_RECEIVED)
    assert "Matched, amount as expected" in wire.body
    assert not Notification.objects.filter(recipient=cast.admin, kind=NotificationKind.WIRE_RECEIVED).exists()

    # Rejected: the investor is told why and that the money comes back.
    subscription_reject(subscription=subscription, actor=cast.admin, reason="The investor withdrew by letter.")
    ended = told_once(investor.user, NotificationKind.SUBSCRIPTION_CANCELLED)
    assert "did not accept" in ended.body and "withdrew by letter" in ended.body and "refunded" in ended.body

    # The refund wire is recorded by one admin; the other is asked to approve it; then the investor hears.
    refund = subscription.refunds.get()
    outcome = refund_sent_propose(refund=refund, actor=cast.admin, bank_reference="OUT-77")
    assert outcome.pending and outcome.request is not None
    waiting = told_once(second_admin, NotificationKind.APPROVAL_WAITING)
    assert waiting.path == f"/issuers/{cast.issuer.slug}/approvals/"
    assert not Notification.objects.filter(recipient=cast.admin, kind=NotificationKind.APPROVAL_WAITING).exists()
    assert not Notification.objects.filter(kind=NotificationKind.REFUND_SENT).exists()
    approval_approve(request=outcome.request, actor=second_admin)
    sent = told_once(investor.user, NotificationKind.REFUND_SENT)
    assert "2,000.00 USD" in sent.subject


def test_a_material_change_tells_each_open_subscriber_once_however_often_the_task_runs(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investors = [verified_investor(accreditation="verified") for _ in range(2)]
    for investor in investors:
        subscribed(offering, investor, 1_000_00)
    v2 = document_upload(
        offering=offering,
        actor=cast.admin,
        kind="ppm",
        title="Private placement memorandum",
        upload=SimpleUploadedFile("ppm2.pdf", pdf("ppm v2"), "application/pdf"),
        material=True,
        change_note="The use of proceeds changed.",
    )
    material_change_notify(document_id=v2.pk)
    material_change_notify(document_id=v2.pk)  # the task delivered twice
    for investor in investors:
        changed = told_once(investor.user, NotificationKind.DOCUMENT_CHANGED)
        assert "use of proceeds" in changed.body


def test_an_imported_statement_is_one_notice_that_counts_the_wires_to_match(cast: Cast) -> None:
    second_admin = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    offering = offering_open(cast.issuer, cast.admin)
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 1_000_00)
    today = timezone.localdate().isoformat()
    statement = (
        "date,amount,currency,reference,id\n"
        f"{today},1000.00,USD,{subscription.wire_reference},b1\n"
        f"{today},5.00,USD,NOBODY-KNOWS,b2\n"
    )
    report = bank_statement_import(issuer=cast.issuer, actor=cast.admin, content=statement.encode())
    assert len(report.recorded) == 2
    notice = told_once(second_admin, NotificationKind.WIRE_RECEIVED)
    assert notice.subject == "2 wires received, 1 to match"
    assert not Notification.objects.filter(recipient=cast.admin, kind=NotificationKind.WIRE_RECEIVED).exists()


def test_a_missed_minimum_tells_each_paid_investor_once(cast: Cast) -> None:
    from offerings.services.closing import offering_close

    offering = offering_open(cast.issuer, cast.admin, soft_cap_minor=50_000_00)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 1_000_00)
    wire_received(cast.issuer, cast.admin, subscription, 1_000_00)
    offering_close(offering=offering, actor=cast.admin)
    missed = told_once(investor.user, NotificationKind.SUBSCRIPTION_CANCELLED)
    assert "did not reach its minimum" in missed.body and "refunded" in missed.body


def test_an_unpaid_reservation_that_ends_tells_its_investor_once_however_often_the_sweep_runs(cast: Cast) -> None:
    from offerings.services.subscriptions import subscription_create, subscriptions_expire_unpaid

    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    reserved = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=1_000_00)
    assert reserved.pay_by is not None
    after = reserved.pay_by + dt.timedelta(seconds=1)
    assert [s.pk for s in subscriptions_expire_unpaid(now=after)] == [reserved.pk]
    assert subscriptions_expire_unpaid(now=after) == []  # the sweep again
    ended = told_once(investor.user, NotificationKind.SUBSCRIPTION_EXPIRED)
    assert "unpaid reservation has ended" in ended.subject and ended.path == f"/subscriptions/{reserved.public_id}/"
    assert not Notification.objects.filter(kind=NotificationKind.SUBSCRIPTION_CANCELLED).exists()


def test_money_taken_back_flags_the_investors_payment_and_tells_the_issuer_once(cast: Cast) -> None:
    from offerings.models import CaseKind
    from offerings.services.cases import case_open

    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 1_000_00)
    wire_received(cast.issuer, cast.admin, subscription, 1_000_00)
    for _ in range(2):  # the bank's report read twice
        case_open(
            subscription=subscription, kind=CaseKind.OUTSIDE_REFUND, external_ref="re_outside_1", amount_minor=1_000_00
        )
    flagged = told_once(investor.user, NotificationKind.PAYMENT_FLAGGED)
    assert "your payment was flagged" in flagged.subject and flagged.path == f"/subscriptions/{subscription.public_id}/"
    for person in (cast.admin, cast.compliance):
        taken = told_once(person, NotificationKind.MONEY_TAKEN_BACK)
        assert taken.path.startswith(f"/issuers/{cast.issuer.slug}/")
