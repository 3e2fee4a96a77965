"""A wire is credited once: recorded by hand with the bank's reference, date and amount; the same wire
recorded twice, or by hand and then from a bank statement (with or without the bank's ids), is a duplicate."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import ApplicationError
from core.models import Issuer
from core.tests.support import Cast
from investors.tests.support import verified_investor
from offerings.models import PaymentEntry, Subscription, SubscriptionStatus, WireReceipt
from offerings.services.wires import DuplicateWire, bank_statement_import, wire_receipt_record
from offerings.tests.support import offering_open, subscribed

pytestmark = pytest.mark.django_db


def _due(cast: Cast, amount: int = 2_000_00) -> Subscription:
    offering = offering_open(cast.issuer, cast.admin)
    return subscribed(offering, verified_investor(accreditation="verified"), amount)


def _by_hand(cast: Cast, subscription: Subscription, bank_reference: str, amount: int = 2_000_00) -> WireReceipt:
    return wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.admin,
        reference=subscription.wire_reference,
        amount_minor=amount,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference,
    )


def _credited(subscription: Subscription) -> int:
    subscription.refresh_from_db()
    assert subscription.paid_minor == sum(
        e.amount_minor for e in PaymentEntry.objects.filter(subscription=subscription)
    )
    return subscription.paid_minor


def test_a_wire_recorded_by_hand_needs_the_banks_reference(cast: Cast) -> None:
    subscription = _due(cast)
    with pytest.raises(ApplicationError) as refused:
        _by_hand(cast, subscription, "  ")
    assert "bank's reference" in refused.value.message
    assert _credited(subscription) == 0


def test_the_same_wire_recorded_twice_by_hand_is_credited_once(cast: Cast) -> None:
    subscription = _due(cast)
    first = _by_hand(cast, subscription, "20261201MMQFMP2K000123")

    with pytest.raises(DuplicateWire) as refused:
        _by_hand(cast, subscription, "20261201 mmqfmp2k-000123")

    assert refused.value.receipt == first
    assert "already recorded by hand with bank reference 20261201MMQFMP2K000123" in refused.value.message
    assert _credited(subscription) == 2_000_00
    assert WireReceipt.objects.filter(issuer=cast.issuer).count() == 1


def test_a_wire_recorded_by_hand_then_imported_with_the_banks_id_is_credited_once(cast: Cast) -> None:
    subscription = _due(cast)
    _by_hand(cast, subscription, "FED-0001")
    today = timezone.localdate().isoformat()
    statement = f"date,amount,currency,reference,id\n{today},2000.00,USD,{subscription.wire_reference},fed0001\n"

    report = bank_statement_import(issuer=cast.issuer, actor=cast.admin, content=statement.encode())

    assert report.duplicates == [2] and not report.recorded and not report.errors
    assert _credited(subscription) == 2_000_00


def test_a_wire_recorded_by_hand_then_imported_from_a_statement_without_ids_is_credited_once(cast: Cast) -> None:
    subscription = _due(cast)
    _by_hand(cast, subscription, "FED-0002")
    today = timezone.localdate().isoformat()
    line = f'{today},"2,000.00",USD,Wire TSR {subscription.wire_reference[4:]} thank you\n'

    report = bank_statement_import(
        issuer=cast.issuer, actor=cast.admin, content=f"date,amount,currency,reference\n{line}".encode()
    )

    assert report.duplicates == [2] and not report.recorded
    assert _credited(subscription) == 2_000_00
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAID


def test_a_statement_line_then_the_same_wire_by_hand_is_credited_once(cast: Cast) -> None:
    subscription = _due(cast)
    today = timezone.localdate().isoformat()
    statement = f"date,amount,currency,reference\n{today},2000.00,USD,{subscription.wire_reference}\n"
    assert len(bank_statement_import(issuer=cast.issuer, actor=cast.admin, content=statement.encode()).recorded) == 1

    with pytest.raises(DuplicateWire) as refused:
        _by_hand(cast, subscription, "FED-0003")

    assert "already recorded from a bank statement" in refused.value.message
    assert _credited(subscription) == 2_000_00


def test_two_wires_alike_with_different_bank_references_are_both_credited(cast: Cast) -> None:
    subscription = _due(cast, 2_000_00)
    _by_hand(cast, subscription, "FED-0004", amount=1_000_00)
    _by_hand(cast, subscription, "FED-0005", amount=1_000_00)
    today = timezone.localdate().isoformat()
    # The statement lists both, without ids: each is the wire already recorded, in order.
    line = f"{today},1000.00,USD,{subscription.wire_reference}\n"
    report = bank_statement_import(
        issuer=cast.issuer, actor=cast.admin, content=f"date,amount,currency,reference\n{line}{line}".encode()
    )

    assert report.duplicates == [2, 3]
    assert _credited(subscription) == 2_000_00


def test_the_wire_form_says_the_wire_is_already_recorded(cast: Cast) -> None:
    subscription = _due(cast)
    # Within the issuer's four-eyes threshold one admin books the wire (above it, see test_four_eyes).
    Issuer.objects.filter(pk=cast.issuer.pk).update(four_eyes_threshold_minor=10_000_00)
    client = Client()
    client.force_login(cast.admin)
    form = {
        "reference": subscription.wire_reference,
        "bank_reference": "IMAD 20261201B1Q8153C001234",
        "amount": "2000.00",
        "currency": "USD",
        "received_on": timezone.localdate().isoformat(),
    }
    url = f"/issuers/{cast.issuer.slug}/wires/"
    assert client.post(url, form).status_code == 302

    page = client.post(url, form).content.decode()

    assert "This wire was already recorded by hand" in page and "it is credited once" in page
    assert _credited(subscription) == 2_000_00
