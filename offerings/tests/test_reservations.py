"""Unpaid reservations expire: a committed or signed subscription not paid within the offering's business days
is ended, its amount released under the hard cap, and the investor told; the wire instructions say by when."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.business_days import business_days_add
from core.errors import Conflict
from core.tests.support import Cast, notifications_delivered
from investors.tests.support import verified_investor
from offerings.models import Offering, RefundStatus, SubscriptionStatus
from offerings.services.subscriptions import (
    subscription_create,
    subscription_payment_start,
    subscriptions_expire_unpaid,
)
from offerings.services.wires import wire_receipt_record
from offerings.tasks import offerings_scheduled_task
from offerings.tests.support import bank_reference_new, offering_open, subscribed

pytestmark = pytest.mark.django_db


def test_business_days_skip_weekends_and_us_federal_holidays() -> None:
    # Wednesday before Thanksgiving (Thursday 26 November 2026): five business days end on Thursday 3 December.
    start = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    assert business_days_add(start, 5) == dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
    assert business_days_add(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC), 1).date() == dt.date(2026, 12, 7)


def test_an_unpaid_reservation_ends_after_its_business_days_and_frees_the_hard_cap(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, soft_cap_minor=5_000_00, hard_cap_minor=5_000_00)
    holder = verified_investor(accreditation="verified")
    hostage = subscription_create(offering=offering, investor=holder, actor=holder.user, amount_minor=5_000_00)
    assert hostage.pay_by is not None
    assert abs(business_days_add(hostage.created_at, 5) - hostage.pay_by) < dt.timedelta(seconds=5)
    other = verified_investor(accreditation="verified")
    with pytest.raises(Conflict) as full:
        subscription_create(offering=offering, investor=other, actor=other.user, amount_minor=1_000_00)
    assert "fully subscribed" in full.value.message

    assert subscriptions_expire_unpaid(now=hostage.pay_by - dt.timedelta(seconds=1)) == []
    ended = subscriptions_expire_unpaid(now=hostage.pay_by + dt.timedelta(seconds=1))

    assert [s.pk for s in ended] == [hostage.pk]
    hostage.refresh_from_db()
    assert hostage.status == SubscriptionStatus.CANCELLED
    assert "Not paid within 5 business days" in hostage.status_reason
    assert Offering.objects.get(pk=offering.pk).committed_minor == 0
    subscription_create(offering=offering, investor=other, actor=other.user, amount_minor=1_000_00)
    # The investor is told.
    notifications_delivered()
    assert mail.outbox[-1].to == [holder.user.email]
    assert "your unpaid reservation has ended" in mail.outbox[-1].subject
    assert "free for other investors again" in mail.outbox[-1].body
    client = Client()
    client.force_login(holder.user)
    page = client.get(f"/subscriptions/{hostage.public_id}/").content.decode()
    assert "the reservation has ended and its amount is released" in page


def test_a_part_paid_signed_reservation_ends_and_the_part_is_refunded(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, payment_due_business_days=2)
    investor = verified_investor(accreditation="verified")
    signed = subscribed(offering, investor, 2_000_00)
    assert signed.pay_by is not None
    assert abs(business_days_add(signed.created_at, 2) - signed.pay_by) < dt.timedelta(seconds=5)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.admin,
        reference=signed.wire_reference,
        amount_minor=500_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )

    subscriptions_expire_unpaid(now=signed.pay_by + dt.timedelta(minutes=1))

    signed.refresh_from_db()
    assert signed.status == SubscriptionStatus.CANCELLED and "Not paid within 2 business days" in signed.status_reason
    refund = signed.refunds.get()
    assert refund.amount_minor == 500_00 and refund.status == RefundStatus.REQUESTED


def test_a_paid_subscription_never_expires_and_the_beat_ends_the_unpaid(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    paid_investor = verified_investor(accreditation="verified")
    paid = subscribed(offering, paid_investor, 1_000_00)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.admin,
        reference=paid.wire_reference,
        amount_minor=1_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    late_investor = verified_investor(accreditation="verified")
    late = subscribed(offering, late_investor, 1_000_00)
    past = timezone.now() - dt.timedelta(minutes=1)
    type(late).objects.filter(pk__in=[paid.pk, late.pk]).update(pay_by=past)

    offerings_scheduled_task()

    paid.refresh_from_db()
    late.refresh_from_db()
    assert paid.status == SubscriptionStatus.PAID
    assert late.status == SubscriptionStatus.CANCELLED


def test_the_wire_instructions_say_when_the_reservation_ends(cast: Cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    signed = subscribed(offering, investor, 1_000_00)
    subscription_payment_start(subscription=signed, actor=investor.user, provider="wire", return_url="http://x/")
    client = Client()
    client.force_login(investor.user)

    page = client.get(f"/subscriptions/{signed.public_id}/").content.decode()

    assert signed.pay_by is not None
    assert f"The wire must arrive by <strong>{signed.pay_by:%-d %b %Y %H:%M} UTC</strong>" in page
    assert "5 business days after you subscribed" in page
