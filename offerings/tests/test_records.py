"""Money records that cannot be rewritten, state changes that carry their audit event in the same
transaction, and locks taken in one order so concurrent writers cannot deadlock."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from core.db_guards import payment_entry_guard_install
from core.errors import ApplicationError
from core.models import AuditEvent
from core.tests.refusals import audit_refused
from investors.tests.support import verified_investor
from offerings.models import Payment, PaymentEntry, RefundStatus, Subscription, SubscriptionStatus
from offerings.services.payments import refund_send
from offerings.services.subscriptions import subscription_cancel, subscription_payment_start, subscription_reject
from offerings.services.wires import wire_receipt_record
from offerings.tests.support import bank_reference_new, offering_open, subscribed, wire_received


@pytest.mark.django_db
def test_the_database_refuses_to_change_or_delete_a_payment_entry(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    subscription = subscribed(offering, verified_investor(accreditation="verified"), 2_000_00)
    wire_received(cast.issuer, cast.admin, subscription, 2_000_00)
    entry = PaymentEntry.objects.get(subscription=subscription)
    payment_entry_guard_install(connection=connection)  # rolled back with the test's transaction
    # Queryset writes skip the model's save(); the database itself says no.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PaymentEntry.objects.filter(pk=entry.pk).update(amount_minor=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PaymentEntry.objects.filter(pk=entry.pk).delete()
    assert PaymentEntry.objects.get(pk=entry.pk).amount_minor == 2_000_00
    PaymentEntry.objects.create(  # appending is what the ledger does
        subscription=subscription,
        payment=entry.payment,
        provider="wire",
        kind="refund",
        amount_minor=-1_00,
        currency="USD",
        external_ref="refund:test",
        occurred_at=timezone.now(),
    )


@pytest.mark.django_db
def test_starting_a_payment_is_not_recorded_without_its_audit_event(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)
    with audit_refused("subscription.payment_method_chosen"), pytest.raises(DatabaseError):
        subscription_payment_start(subscription=subscription, actor=investor.user, provider="wire", return_url="x")
    assert Subscription.objects.get(pk=subscription.pk).payment_provider != "wire"
    with audit_refused("payment.started"), pytest.raises(DatabaseError, match="audit event refused"):
        subscription_payment_start(subscription=subscription, actor=investor.user, provider="wire", return_url="x")
    assert not Payment.objects.filter(subscription=subscription).exists()
    # The choice of method was its own change, made with its own event.
    assert Subscription.objects.get(pk=subscription.pk).payment_provider == "wire"
    assert AuditEvent.objects.filter(action="subscription.payment_method_chosen").count() == 1
    payment = subscription_payment_start(
        subscription=subscription, actor=investor.user, provider="wire", return_url="x"
    )
    started = AuditEvent.objects.get(action="payment.started", object_id=str(payment.pk))
    assert started.actor_id == investor.user.pk and started.issuer_id == cast.issuer.pk


@pytest.mark.django_db
def test_a_refund_left_to_a_person_is_audited_when_it_moves_to_manual(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)
    subscription_payment_start(subscription=subscription, actor=investor.user, provider="wire", return_url="x")
    wire_received(cast.issuer, cast.admin, subscription, 2_000_00)
    subscription_reject(subscription=subscription, actor=cast.admin, reason="Withdrawn by letter.")
    refund = subscription.refunds.get()
    with audit_refused("refund.moved_to_manual"), pytest.raises(DatabaseError):
        refund_send(refund_id=refund.pk)
    refund.refresh_from_db()
    assert refund.external_ref == "" and refund.status == RefundStatus.REQUESTED
    refund = refund_send(refund_id=refund.pk)
    assert refund.external_ref == "manual"
    event = AuditEvent.objects.get(action="refund.moved_to_manual", object_id=str(refund.pk))
    assert event.issuer_id == cast.issuer.pk


ROUNDS = 12


@pytest.mark.django_db(transaction=True)
def test_recording_a_wire_and_cancelling_at_the_same_time_cannot_deadlock(cast) -> None:
    """Both take the subscription's lock before the audit chain head (core.audit's lock order)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one write lock for the whole database: no deadlock to show")
    offering = offering_open(cast.issuer, cast.admin)
    subscriptions = [subscribed(offering, verified_investor(accreditation="verified"), 2_000_00) for _ in range(ROUNDS)]
    errors: list[BaseException] = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(barrier: threading.Barrier, work) -> None:
        try:
            barrier.wait()
            work()
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        except BaseException as exc:  # noqa: BLE001 - a deadlock is what this test looks for
            with lock:
                errors.append(exc)
            result = "error"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    for subscription in subscriptions:
        barrier = threading.Barrier(2)

        def wire(s: Subscription = subscription) -> None:
            wire_receipt_record(
                issuer=cast.issuer,
                actor=cast.admin,
                reference=s.wire_reference,
                amount_minor=500_00,
                currency="USD",
                received_on=timezone.localdate(),
                bank_reference=bank_reference_new(),
            )

        def cancel(s: Subscription = subscription) -> None:
            subscription_cancel(subscription=s, actor=s.investor.user)

        threads = [threading.Thread(target=run, args=(barrier, work)) for work in (wire, cancel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == [], errors
    assert outcomes.count("ok") >= ROUNDS
    for subscription in subscriptions:
        subscription.refresh_from_db()
        assert subscription.status == SubscriptionStatus.CANCELLED
        held = sum(subscription.entries.values_list("amount_minor", flat=True))
        assert held == subscription.paid_minor == 500_00  # the wire is on the ledger; its refund is requested
        assert subscription.refunds.filter(status=RefundStatus.REQUESTED).count() <= 1


# --------------------------------------------------------------------------- personal data and the audit chain


@pytest.mark.django_db
def test_the_audit_chain_holds_no_personal_data_and_still_verifies_after_erasure(cast) -> None:
    import datetime as dt
    import json

    from django.core.management import call_command

    from compliance.exemptions import Exemption
    from compliance.services.sanctions import investor_screen
    from compliance.tests.support import sanctions_fixture_loaded, submitted_investor
    from core.audit import audit_chain_verify
    from investors.models import AccreditationClaim, BeneficialOwner, InvestorProfile
    from investors.services.accreditation import accreditation_claim_start
    from investors.services.profiles import investor_details_save, owner_add
    from investors.tests.support import investor_started
    from offerings.services.subscriptions import subscription_create

    # An individual: name, date of birth, tax id and address through onboarding; incomes in a claim.
    person = submitted_investor(cast, "Philippa Ravenscroft-Oduya")
    accreditation_claim_start(
        investor=person,
        actor=person.user,
        method="income",
        figures={
            "income_two_years_ago_cents": 251_357_00,
            "income_last_year_cents": 262_468_00,
            "income_expected_cents": 273_579_00,
        },
        attested=True,
    )
    # An entity with a beneficial owner.
    entity = investor_started(kind="entity")
    investor_details_save(
        investor=entity,
        actor=entity.user,
        details={
            "legal_name": "Quillfeather Holdings LLC",
            "entity_type": "llc",
            "registration_number": "DE-4471",
            "formation_country": "US",
            "address_line1": "88 Marram Wharf",
            "city": "Wilmington",
            "postal_code": "19801",
            "country": "US",
            "phone": "+1 302 555 0142",
            "tax_id_kind": "ein",
            "tax_id": "98-7654321",
        },
    )
    owner_add(
        investor=entity,
        actor=entity.user,
        data={
            "role": "both",
            "full_name": "Ottoline Varga-Whitcombe",
            "date_of_birth": dt.date(1971, 3, 9),
            "address": "77 Quarry Lane, Dover",
            "country": "US",
            "citizenship": "US",
            "ownership_bps": 10_000,
            "id_kind": "ssn",
            "id_number": "321-54-9876",
        },
    )
    # A Reg CF subscription with self-certified income and net worth, and a sanctions hit on a name.
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    saver = verified_investor(name="Zebedee Fairweather-Lund", accreditation="self_certified")
    subscription_create(
        offering=offering,
        investor=saver,
        actor=saver.user,
        amount_minor=1_000_00,
        annual_income_minor=87_654_00,
        net_worth_minor=76_543_00,
    )
    sanctions_fixture_loaded()
    flagged = verified_investor(name="Reza Nazari", date_of_birth=dt.date(1962, 11, 22), kyc="pending")
    assert investor_screen(investor=flagged, actor=None)

    personal = [
        "Philippa Ravenscroft-Oduya",
        "1980-05-17",
        "123456789",
        "123-45-6789",
        "12 Harbor Street",
        "25135700",
        "26246800",
        "27357900",
        "Ottoline Varga-Whitcombe",
        "1971-03-09",
        "77 Quarry Lane",
        "321549876",
        "88 Marram Wharf",
        "987654321",
        "Zebedee Fairweather-Lund",
        "8765400",
        "7654300",
        "Reza Nazari",
        person.user.email,
        saver.user.email,
    ]

    def chain_text() -> str:
        rows = AuditEvent.objects.values("actor_label", "object_label", "before", "after")
        return json.dumps(list(rows), default=str)

    text = chain_text()
    assert AuditEvent.objects.count() > 20
    assert [value for value in personal if value in text] == []
    assert "Quillfeather Holdings LLC" not in text  # an entity's name is labelled by id too

    # Erasure where the law requires it: the records are blanked, the chain is untouched and verifies.
    InvestorProfile.objects.filter(pk__in=[person.pk, entity.pk, saver.pk, flagged.pk]).update(
        legal_name="", address_line1="", tax_id="", date_of_birth=None, phone=""
    )
    BeneficialOwner.objects.filter(investor=entity).update(full_name="(erased)", address="", id_number="")
    AccreditationClaim.objects.filter(investor=person).update(
        income_two_years_ago_cents=None, income_last_year_cents=None, income_expected_cents=None
    )
    Subscription.objects.filter(investor=saver).update(annual_income_minor=None, net_worth_minor=None)
    flagged.screening_hits.update(subject_name="(erased)")
    assert audit_chain_verify().ok
    call_command("audit_verify", verbosity=0)
    assert chain_text() == text
