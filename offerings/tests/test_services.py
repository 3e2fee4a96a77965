"""Offerings, documents, subscriptions, wires and refunds through the services, without a chain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pytest_django.fixtures import Settings

from compliance.exemptions import Exemption
from core.errors import ApplicationError, Conflict
from core.models import AuditEvent
from core.tests.files import png_bytes
from core.tests.support import Cast, notifications_delivered
from investors.models import InvestorProfile
from investors.services.applications import issuer_application_create, issuer_application_decide
from investors.tests.support import verified_investor
from offerings.models import (
    EntryKind,
    Offering,
    OfferingDocument,
    OfferingStatus,
    PaymentEntry,
    RefundStatus,
    Subscription,
    SubscriptionStatus,
    WireMatch,
)
from offerings.payments import payment_provider
from offerings.selectors.offerings import current_documents
from offerings.services.documents import document_upload
from offerings.services.offerings import offering_create, offering_update
from offerings.services.payments import refund_mark_sent
from offerings.services.subscriptions import (
    NotEligible,
    subscription_cancel,
    subscription_create,
    subscription_payment_start,
)
from offerings.services.wires import bank_statement_import, parse_amount, reference_find, wire_receipt_record
from offerings.tests.support import (
    bank_reference_new,
    offering_draft,
    offering_in_time,
    offering_input,
    offering_open,
    pdf,
    subscribed,
)

pytestmark = pytest.mark.django_db


def _signed(offering: Offering, investor: InvestorProfile, amount: int) -> Subscription:
    return subscribed(offering, investor, amount, ip_address="203.0.113.7", user_agent="Mozilla/5.0 test")


def test_creating_an_offering_fills_the_exemption_rules_and_refuses_loosening(cast) -> None:
    offering = offering_create(issuer=cast.issuer, actor=cast.admin, data=offering_input(exemption=Exemption.REG_CF))
    assert offering.min_open_days == 21 and offering.cancel_window_hours == 48
    assert offering.lockup_seconds == 365 * 86400 and offering.investor_limit == "reg_cf"
    with pytest.raises(ApplicationError) as refused:
        offering_update(
            offering=offering,
            actor=cast.admin,
            data=offering_input(exemption=Exemption.REG_CF, rules={"lockup_seconds": 86400}),
        )
    assert "locked up at least 365 days" in refused.value.message
    tightened = offering_update(
        offering=offering,
        actor=cast.admin,
        data=offering_input(exemption=Exemption.REG_CF, rules={"lockup_seconds": 400 * 86400}),
    )
    assert tightened.lockup_seconds == 400 * 86400


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"price_minor": 0}, "price per token must be above zero"),
        ({"min_investment_minor": 1_005}, "whole number of tokens"),
        ({"soft_cap_minor": 200_000_00}, "hard cap must not be below the soft cap"),
        ({"closes_at": timezone.now() - dt.timedelta(days=40)}, "close date must be after the open date"),
        ({"token_symbol": "a"}, "2 to 11 letters"),
        ({"allowed_countries": ("US", "XX")}, "XX is not a country code"),
        ({"exemption": Exemption.REG_CF, "currency": "EUR"}, "priced in USD"),
        ({"exemption": Exemption.REG_CF, "hard_cap_minor": 6_000_000_00}, "hard cap can be at most 5,000,000.00 USD"),
        (
            {"exemption": Exemption.REG_CF, "closes_at": timezone.now() - dt.timedelta(days=20)},
            "stay open at least 21 days",
        ),
    ],
)
def test_bad_offering_terms_are_refused_with_a_clear_message(cast, overrides, message) -> None:
    with pytest.raises(ApplicationError) as refused:
        offering_create(issuer=cast.issuer, actor=cast.admin, data=offering_input(**overrides))
    assert message in refused.value.message


def test_publishing_queues_the_token_and_opens_the_offering(cast) -> None:
    from tokens.models import ContractDeployment

    offering = offering_open(cast.issuer, cast.admin)
    assert offering.status == OfferingStatus.OPEN
    token = ContractDeployment.objects.get(owner_ref=f"offering:{offering.pk}")
    assert token.deploy_transaction is not None
    assert AuditEvent.objects.filter(action="offering.published", object_id=str(offering.pk)).exists()


def test_document_versions_keep_their_hash_and_material_changes_ask_reg_cf_investors_to_reconfirm(
    cast,
) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    investor = verified_investor(accreditation="self_certified")
    subscription = _signed(offering, investor, 1_000_00)
    v2 = document_upload(
        offering=offering,
        actor=cast.admin,
        kind="ppm",
        title="Private placement memorandum",
        upload=SimpleUploadedFile("ppm2.pdf", pdf("ppm v2"), "application/pdf"),
        material=True,
        change_note="The use of proceeds changed.",
    )
    assert v2.version == 2 and len(v2.sha256) == 64
    subscription.refresh_from_db()
    assert subscription.reconfirm_by is not None
    assert subscription.reconfirm_by - timezone.now() > dt.timedelta(days=4, hours=23)  # 5 business days
    from offerings.tasks import material_change_notify_task

    assert material_change_notify_task(v2.pk) == 1  # what the worker runs after commit
    (told,) = [m for m in notifications_delivered() if m.to == [subscription.investor.user.email]]
    assert "use of proceeds" in told.body and "reconfirm" in told.body
    with pytest.raises(ApplicationError):
        document_upload(
            offering=offering,
            actor=cast.admin,
            kind="other",
            title="Pitch deck",
            upload=SimpleUploadedFile("deck.png", b"\x89PNG....", "image/png"),
        )


def test_subscribing_reserves_the_amount_and_signing_records_the_documents(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = _signed(offering, investor, 2_000_00)
    offering.refresh_from_db()
    assert offering.committed_minor == 2_000_00
    assert subscription.status == SubscriptionStatus.SIGNED and subscription.quantity == 200
    acceptances = list(subscription.acceptances.all())
    assert {a.sha256 for a in acceptances} == {d.sha256 for d in current_documents(offering=offering)}
    assert all(a.ip_address == "203.0.113.7" and a.user_agent == "Mozilla/5.0 test" for a in acceptances)
    content = subscription.agreement_pdf.open("rb").read()
    assert content.startswith(b"%PDF") and len(subscription.agreement_sha256) == 64


def test_a_reg_cf_commitment_not_reconfirmed_in_time_is_cancelled_by_the_beat(cast) -> None:
    from offerings.tasks import offerings_scheduled_task

    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    investor = verified_investor(accreditation="self_certified")
    lapsed = _signed(offering, investor, 1_000_00)
    lapsed.reconfirm_by = timezone.now() - dt.timedelta(minutes=1)
    lapsed.save(update_fields=["reconfirm_by"])
    offerings_scheduled_task()
    lapsed.refresh_from_db()
    assert lapsed.status == SubscriptionStatus.CANCELLED
    assert "Not reconfirmed within five business days" in lapsed.status_reason


def test_an_ineligible_investor_gets_every_reason(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation=None, wallet=None)
    with pytest.raises(NotEligible) as refused:
        subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=1_005_00)
    assert len(refused.value.reasons) == 3


def test_an_investor_the_issuer_declined_cannot_subscribe_to_its_offerings(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    application = issuer_application_create(investor=investor, issuer=cast.issuer, actor=investor.user)
    issuer_application_decide(application=application, actor=cast.compliance, decision="decline", note="Not a fit")
    with pytest.raises(NotEligible) as refused:
        subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=1_000_00)
    assert [(r.code, r.message) for r in refused.value.reasons] == [
        ("not_admitted", "The issuer of this offering did not admit you as an investor.")
    ]
    # Admitting again opens the offerings; identity was never the issuer's to change.
    issuer_application_decide(application=application, actor=cast.compliance, decision="admit")
    subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=1_000_00)


def test_the_hard_cap_refuses_what_does_not_fit(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin, hard_cap_minor=10_000_00, soft_cap_minor=1_000_00)
    first = verified_investor(accreditation="verified")
    second = verified_investor(accreditation="verified")
    subscription_create(offering=offering, investor=first, actor=first.user, amount_minor=8_000_00)
    with pytest.raises(Conflict) as refused:
        subscription_create(offering=offering, investor=second, actor=second.user, amount_minor=3_000_00)
    assert "Only 2,000.00 USD" in refused.value.message


def test_wire_matches_by_reference_and_flags_partial_and_over_payments(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = _signed(offering, investor, 2_000_00)
    payment_start = subscription_payment_start(
        subscription=subscription, actor=investor.user, provider="wire", return_url="http://testserver/s/"
    )
    assert payment_start.details["reference"] == subscription.wire_reference
    partial = wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference=f"payment {subscription.wire_reference.lower().replace('-', ' ')} thanks",
        amount_minor=500_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    assert partial.match == WireMatch.PARTIAL and partial.flagged
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.SIGNED and subscription.paid_minor == 500_00
    over = wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference=subscription.wire_reference,
        amount_minor=2_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    assert over.match == WireMatch.OVERPAID
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAID and subscription.overpaid_minor == 500_00
    unknown = wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference="TSR-0000-00000",
        amount_minor=1_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    assert unknown.match == WireMatch.UNMATCHED and unknown.subscription is None


def test_bank_statement_import_reports_each_bad_line_and_skips_lines_seen_before(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = _signed(offering, investor, 2_000_00)
    today = timezone.localdate().isoformat()
    csv_text = (
        "Date,Amount,Currency,Reference,Payer\n"
        f'{today},"2,000.00",USD,{subscription.wire_reference},Dana Reyes\n'
        f"{today},12.345,USD,{subscription.wire_reference},Dana Reyes\n"
        f"yesterday,10.00,USD,{subscription.wire_reference},x\n"
        f"{today},10.00,XYZ,{subscription.wire_reference},x\n"
        f"{today},10.00,USD,,x\n"
    ).encode()
    report = bank_statement_import(issuer=cast.issuer, actor=cast.compliance, content=csv_text)
    assert len(report.recorded) == 1 and report.recorded[0].match == WireMatch.EXACT
    assert [e.split(":")[0] for e in report.errors] == ["Line 3", "Line 4", "Line 5", "Line 6"]
    assert "more decimal places than USD allows" in report.errors[0]
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.PAID
    again = bank_statement_import(issuer=cast.issuer, actor=cast.compliance, content=csv_text)
    assert again.recorded == [] and again.duplicates == [2]
    bad_header = bank_statement_import(issuer=cast.issuer, actor=cast.compliance, content=b"when,how much\n1,2\n")
    assert "missing: date, amount, currency, reference" in bad_header.errors[0]


def test_a_stray_quote_in_one_statement_line_does_not_swallow_the_lines_after_it(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = _signed(offering, investor, 2_000_00)
    today = timezone.localdate().isoformat()
    csv_text = (
        "date,amount,currency,reference\n"
        '"\n'  # a line holding a lone quote, as a broken bank export can
        f"{today},2000.00,USD,{subscription.wire_reference}\n"
    ).encode()
    report = bank_statement_import(issuer=cast.issuer, actor=cast.compliance, content=csv_text)
    assert [r.reference for r in report.recorded] == [subscription.wire_reference]
    assert report.errors and report.errors[0].startswith("Line 2:")


def test_amount_parsing_is_exact() -> None:
    assert parse_amount("1,234.56", "USD") == 123456
    assert parse_amount("1000", "JPY") == 1000
    with pytest.raises(ApplicationError):
        parse_amount("0.1", "JPY")
    with pytest.raises(ApplicationError):
        parse_amount("abc", "USD")
    assert reference_find("ref tsr 4F7K 9PQ2X from bank") == "TSR-4F7K-9PQ2X"


def test_cancelling_a_paid_reg_cf_subscription_refunds_it_and_releases_the_amount(
    cast, django_capture_on_commit_callbacks
) -> None:
    offering = offering_open(cast.issuer, cast.admin, exemption=Exemption.REG_CF, min_investment_minor=100_00)
    investor = verified_investor(accreditation="self_certified")
    subscription = _signed(offering, investor, 1_000_00)
    subscription_payment_start(subscription=subscription, actor=investor.user, provider="wire", return_url="x")
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference=subscription.wire_reference,
        amount_minor=1_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        subscription_cancel(subscription=subscription, actor=investor.user)
    subscription.refresh_from_db()
    offering.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED and offering.committed_minor == 0
    refund = subscription.refunds.get()
    assert refund.amount_minor == 1_000_00 and refund.status == RefundStatus.REQUESTED  # a wire goes back by hand
    refund_mark_sent(refund=refund, actor=cast.admin, bank_reference="OUT-123")
    subscription.refresh_from_db()
    assert subscription.paid_minor == 0
    kinds = list(PaymentEntry.objects.filter(subscription=subscription).values_list("kind", "amount_minor"))
    assert kinds == [(EntryKind.RECEIVED, 1_000_00), (EntryKind.REFUND, -1_000_00)]


def test_reg_cf_cancellation_closes_48_hours_before_the_deadline(cast) -> None:
    offering = offering_open(
        cast.issuer,
        cast.admin,
        exemption=Exemption.REG_CF,
        min_investment_minor=100_00,
        closes_at=timezone.now() + dt.timedelta(days=22),
    )
    offering = offering_in_time(
        offering, opened_at=timezone.now() - dt.timedelta(days=25), closes_at=timezone.now() + dt.timedelta(hours=30)
    )
    investor = verified_investor(accreditation="self_certified")
    subscription = _signed(offering, investor, 1_000_00)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference=subscription.wire_reference,
        amount_minor=1_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    with pytest.raises(Conflict) as refused:
        subscription_cancel(subscription=subscription, actor=investor.user)
    assert "48 hours before the deadline" in refused.value.message


def test_payment_entries_are_append_only(cast) -> None:
    offering = offering_open(cast.issuer, cast.admin)
    investor = verified_investor(accreditation="verified")
    subscription = _signed(offering, investor, 2_000_00)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.compliance,
        reference=subscription.wire_reference,
        amount_minor=2_000_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    entry = PaymentEntry.objects.get(subscription=subscription)
    entry.amount_minor = 1
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert payment_provider("wire").verbose_name == "Bank wire"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ppm.pdf", pdf("ppm")[:-80], "“ppm.pdf” was refused: the PDF file does not end as one does"),
        ("ppm.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 64 + b"\n%%EOF\n", "“ppm.pdf” was refused: it cannot be read"),
        ("ppm.pdf", b"<!doctype html><html><body>PPM</body></html>", "Upload the document as a PDF file"),
        ("ppm.pdf", png_bytes(), "Upload the document as a PDF file"),
        ("ppm.pdf", b"%PDF-1.4\n" + b"0" * 32, "documents can be at most 25 MB"),
    ],
    ids=["truncated-pdf", "pdf-header-then-garbage", "html-named-pdf", "image-named-pdf", "oversized"],
)
def test_an_offering_document_that_is_not_a_readable_pdf_is_refused_and_nothing_is_stored(
    cast: Cast, settings: Settings, name: str, content: bytes, message: str
) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    stored = Path(settings.PRIVATE_MEDIA_ROOT)
    before = (OfferingDocument.objects.count(), sorted(stored.rglob("*")))
    upload = SimpleUploadedFile(name, content, "application/pdf")
    if message.endswith("25 MB"):
        upload.size = 25 * 1024 * 1024 + 1  # what the browser declared; the content is never read
    with pytest.raises(ApplicationError, match=message):
        document_upload(offering=offering, actor=cast.admin, kind="ppm", title="PPM", upload=upload)
    assert (OfferingDocument.objects.count(), sorted(stored.rglob("*"))) == before
