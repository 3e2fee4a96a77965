"""Accreditation claims with their evidence, and tax forms with their expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from core.models import AuditEvent
from core.tests.files import pdf_bytes
from investors.models import AccreditationStatus, InvestorProfile, TaxForm
from investors.services.accreditation import (
    accreditation_claim_start,
    accreditation_claim_submit,
    accreditation_missing,
)
from investors.services.documents import document_upload
from investors.services.profiles import investor_details_save
from investors.services.tax import tax_form_expiry, tax_form_sign
from investors.tests.support import Person, individual_details, investor_started, upload

pytestmark = pytest.mark.django_db


def _investor(person: Person | None = None) -> InvestorProfile:
    investor = investor_started()
    return investor_details_save(investor=investor, actor=investor.user, details=individual_details(person or Person()))


def _evidence(investor, claim, kind: str, date: dt.date | None = None) -> None:
    document_upload(
        investor=investor,
        actor=investor.user,
        kind=kind,
        upload=upload(f"{kind}.pdf", pdf_bytes()),
        claim=claim,
        document_date=date,
    )


def test_income_below_the_threshold_is_refused_with_the_figure() -> None:
    investor = _investor()
    figures = {
        "income_two_years_ago_cents": 250_000_00,
        "income_last_year_cents": 150_000_00,
        "income_expected_cents": 260_000_00,
    }
    with pytest.raises(ApplicationError, match=r"must exceed \$200,000"):
        accreditation_claim_start(
            investor=investor, actor=investor.user, method="income", figures=figures, attested=True
        )
    assert not investor.accreditation_claims.exists()


def test_a_claim_lists_missing_evidence_until_complete_then_goes_to_review() -> None:
    investor = _investor()
    figures = {
        "income_two_years_ago_cents": 250_000_00,
        "income_last_year_cents": 260_000_00,
        "income_expected_cents": 270_000_00,
    }
    claim = accreditation_claim_start(
        investor=investor, actor=investor.user, method="income", figures=figures, attested=True
    )
    assert claim.status == AccreditationStatus.DRAFT
    assert [(m.kind, m.needed, m.have) for m in accreditation_missing(claim=claim)] == [
        ("tax_return", 2, 0),
        ("income_statement", 1, 0),
    ]
    _evidence(investor, claim, "tax_return")
    with pytest.raises(ApplicationError, match=r"Still missing: IRS form .* \(1 more\); Statement of expected income"):
        accreditation_claim_submit(claim=claim, actor=investor.user)
    _evidence(investor, claim, "tax_return")
    _evidence(investor, claim, "income_statement")
    claim = accreditation_claim_submit(claim=claim, actor=investor.user)
    assert claim.status == AccreditationStatus.PENDING


def test_net_worth_evidence_must_be_recent() -> None:
    investor = _investor()
    claim = accreditation_claim_start(
        investor=investor,
        actor=investor.user,
        method="net_worth",
        figures={"net_worth_cents": 2_500_000_00},
        attested=True,
    )
    old = timezone.localdate() - dt.timedelta(days=120)
    _evidence(investor, claim, "asset_statement", old)
    _evidence(investor, claim, "credit_report", timezone.localdate())
    _evidence(investor, claim, "liabilities_statement")
    with pytest.raises(ApplicationError, match="within the last three months: Asset statement"):
        accreditation_claim_submit(claim=claim, actor=investor.user)


def test_self_certification_is_a_separate_weaker_status() -> None:
    investor = _investor()
    with pytest.raises(ApplicationError, match="Confirm"):
        accreditation_claim_start(
            investor=investor, actor=investor.user, method="self_certification", figures={}, attested=False
        )
    claim = accreditation_claim_start(
        investor=investor, actor=investor.user, method="self_certification", figures={}, attested=True
    )
    assert claim.status == AccreditationStatus.SELF_CERTIFIED
    from investors.services.verification import investor_is_accredited

    assert not investor_is_accredited(investor)


def test_entities_use_the_entity_test_and_people_do_not() -> None:
    investor = _investor()
    with pytest.raises(ApplicationError, match="for companies"):
        accreditation_claim_start(
            investor=investor,
            actor=investor.user,
            method="entity_test",
            figures={"entity_assets_cents": 9_000_000_00},
            attested=True,
        )


def test_w8_expires_at_the_end_of_the_third_calendar_year() -> None:
    assert tax_form_expiry(kind="w8ben", signed_on=dt.date(2026, 2, 10)) == dt.date(2029, 12, 31)
    assert tax_form_expiry(kind="w8bene", signed_on=dt.date(2026, 12, 31)) == dt.date(2029, 12, 31)
    assert tax_form_expiry(kind="w9", signed_on=dt.date(2026, 2, 10)) is None


def test_the_form_follows_the_investors_status() -> None:
    us = _investor()
    with pytest.raises(ApplicationError, match="Form W-9"):
        tax_form_sign(investor=us, actor=us.user, kind="w8ben", signer_name="A M", signed_on=timezone.localdate())
    with pytest.raises(ApplicationError, match="Certify"):
        tax_form_sign(investor=us, actor=us.user, kind="w9", signer_name="A M", signed_on=timezone.localdate())
    with pytest.raises(ApplicationError, match="future"):
        tax_form_sign(
            investor=us,
            actor=us.user,
            kind="w9",
            signer_name="A M",
            signed_on=timezone.localdate() + dt.timedelta(days=1),
            tin_certified=True,
        )
    form = tax_form_sign(
        investor=us, actor=us.user, kind="w9", signer_name="A M", signed_on=timezone.localdate(), tin_certified=True
    )
    assert form.expires_on is None and form.tin_certified


def test_a_w8ben_claims_a_treaty_rate_for_the_country_of_residence() -> None:
    german = _investor(
        Person(
            name="Jonas Weber",
            country="DE",
            citizenship="DE",
            tax_id_kind="foreign_tin",
            tax_id="12345678901",
            tax_id_country="DE",
        )
    )
    today = timezone.localdate()
    with pytest.raises(ApplicationError, match="between 0% and 30%"):
        tax_form_sign(
            investor=german,
            actor=german.user,
            kind="w8ben",
            signer_name="J W",
            signed_on=today,
            treaty_country="DE",
            treaty_article="Article 10",
            treaty_rate_bps=3500,
        )
    with pytest.raises(ApplicationError, match="country of residence"):
        tax_form_sign(
            investor=german,
            actor=german.user,
            kind="w8ben",
            signer_name="J W",
            signed_on=today,
            treaty_country="FR",
            treaty_article="Article 10",
            treaty_rate_bps=1500,
        )
    first = tax_form_sign(
        investor=german,
        actor=german.user,
        kind="w8ben",
        signer_name="J W",
        signed_on=today,
        treaty_country="DE",
        treaty_article="Article 10",
        treaty_rate_bps=1500,
    )
    assert first.treaty_rate_percent == "15.00%" and first.expires_on == dt.date(today.year + 3, 12, 31)
    second = tax_form_sign(investor=german, actor=german.user, kind="w8ben", signer_name="J W", signed_on=today)
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert TaxForm.objects.filter(investor=german, superseded_at__isnull=True).count() == 1


def _foreign_entity() -> InvestorProfile:
    investor = investor_started(kind="entity")
    details = {
        "legal_name": "Sakura Holdings KK",
        "entity_type": "corporation",
        "registration_number": "0100-01-123456",
        "formation_country": "JP",
        "address_line1": "1-1 Marunouchi",
        "city": "Tokyo",
        "postal_code": "100-0005",
        "country": "JP",
        "phone": "+81 3 5555 0100",
        "tax_id_kind": "foreign_tin",
        "tax_id": "1234567890123",
        "tax_id_country": "JP",
    }
    return investor_details_save(investor=investor, actor=investor.user, details=details)


def test_an_entitys_w8bene_certifies_its_chapter_4_status() -> None:
    entity = _foreign_entity()
    today = timezone.localdate()
    for status in ("", "not_a_status"):
        with pytest.raises(ApplicationError, match="chapter 4") as refused:
            tax_form_sign(
                investor=entity,
                actor=entity.user,
                kind="w8bene",
                signer_name="K S",
                signed_on=today,
                chapter_4_status=status,
            )
        assert refused.value.code == "chapter_4_status"
    assert not TaxForm.objects.filter(investor=entity).exists()

    form = tax_form_sign(
        investor=entity,
        actor=entity.user,
        kind="w8bene",
        signer_name="K S",
        signed_on=today,
        chapter_4_status="active_nffe",
    )
    assert form.chapter_4_status == "active_nffe" and form.get_chapter_4_status_display() == "Active NFFE"
    signed = AuditEvent.objects.get(action="tax_form.signed", object_id=str(form.pk))
    assert (signed.after or {})["chapter_4_status"] == "active_nffe"


def test_the_tax_page_asks_an_entity_for_its_chapter_4_status(client) -> None:
    entity = _foreign_entity()
    client.force_login(entity.user)
    page = client.get("/onboarding/tax/").content.decode()
    assert "Chapter 4 (FATCA) status" in page and 'value="passive_nffe"' in page
    signed = {"signer_name": "Kenji Sato", "signed_on": timezone.localdate().isoformat()}
    refused = client.post("/onboarding/tax/", signed)
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert not TaxForm.objects.filter(investor=entity).exists()

    response = client.post("/onboarding/tax/", {**signed, "chapter_4_status": "participating_ffi"})
    assert response.status_code == 302
    assert TaxForm.objects.get(investor=entity).chapter_4_status == "participating_ffi"
    assert "chapter 4 status: Participating FFI" in client.get("/onboarding/tax/").content.decode()


def test_an_individuals_tax_page_does_not_ask_for_a_chapter_4_status(client) -> None:
    individual = _investor(
        Person(
            name="Jonas Weber",
            country="DE",
            citizenship="DE",
            tax_id_kind="foreign_tin",
            tax_id="12345678901",
            tax_id_country="DE",
        )
    )
    client.force_login(individual.user)
    assert "Chapter 4" not in client.get("/onboarding/tax/").content.decode()
    signed = {"signer_name": "Jonas Weber", "signed_on": timezone.localdate().isoformat()}
    assert client.post("/onboarding/tax/", signed).status_code == 302
    assert TaxForm.objects.get(investor=individual).chapter_4_status == ""
