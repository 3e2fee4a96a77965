"""Generated input through the onboarding forms and the wallet API (dates, countries, amounts, wallet
addresses, uploads): never a server error, and a refused request stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from core.tests.factories import UserFactory
from core.tests.inputs import (
    AMOUNT_TEXT,
    COUNTRY,
    DATE_TEXT,
    MINOR_UNITS,
    UPLOAD,
    WALLET_ADDRESS,
    changed_tables,
    examples,
    rolled_back,
    stored_rows,
)
from investors.models import InvestorProfile
from investors.services.accreditation import accreditation_claim_start
from investors.services.profiles import investor_kind_set, investor_profile_ensure
from investors.tests.support import onboarded_individual

pytestmark = pytest.mark.django_db
TEXT = st.text(max_size=60)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _profile(investor: InvestorProfile) -> dict[str, object]:
    return dict(InvestorProfile.objects.filter(pk=investor.pk).values().get())


def _post(client: Client, url: str, data: dict[str, object], investor: InvestorProfile | None = None) -> None:
    """POST one generated form: a page with errors stores nothing; a redirect stored an audited change."""
    before = stored_rows()
    profile = _profile(investor) if investor else None
    with rolled_back():
        response = client.post(url, data)
        assert response.status_code in (200, 302), response.status_code
        changed = changed_tables(before)
        if response.status_code == 200:
            assert changed == set(), changed
            if investor is not None:
                assert _profile(investor) == profile
        elif changed:
            assert "core.AuditEvent" in changed, changed


def test_generated_individual_details(db: None) -> None:
    user = UserFactory.create()
    investor = investor_kind_set(investor=investor_profile_ensure(user=user), actor=user, kind="individual")
    client = _client(user)

    @examples
    @given(
        name=TEXT,
        dob=DATE_TEXT,
        country=COUNTRY,
        citizenship=COUNTRY,
        tax_kind=st.sampled_from(["ssn", "itin", "foreign_tin", "passport", "ein", "x"]),
        tax_id=TEXT,
        tax_country=COUNTRY,
        postal=TEXT,
    )
    def check(name, dob, country, citizenship, tax_kind, tax_id, tax_country, postal) -> None:
        data = {
            "legal_name": name,
            "date_of_birth": dob,
            "address_line1": "1 Main St",
            "city": "Boston",
            "postal_code": postal,
            "country": country,
            "citizenship": citizenship,
            "phone": "+1 617 555 0100",
            "tax_id_kind": tax_kind,
            "tax_id": tax_id,
            "tax_id_country": tax_country,
        }
        _post(client, "/onboarding/details/", data, investor)

    check()


def test_generated_entity_details_and_owners(db: None) -> None:
    user = UserFactory.create()
    investor = investor_kind_set(investor=investor_profile_ensure(user=user), actor=user, kind="entity")
    client = _client(user)

    @examples
    @given(
        formation=COUNTRY,
        country=COUNTRY,
        tax_kind=st.sampled_from(["ein", "foreign_tin", "ssn"]),
        tax_id=TEXT,
        owner_dob=DATE_TEXT,
        owner_country=COUNTRY,
        percent=AMOUNT_TEXT,
    )
    def check(formation, country, tax_kind, tax_id, owner_dob, owner_country, percent) -> None:
        details = {
            "legal_name": "Generated Holdings LLC",
            "entity_type": "llc",
            "registration_number": "123",
            "formation_country": formation,
            "address_line1": "1 Main St",
            "city": "Wilmington",
            "postal_code": "19801",
            "country": country,
            "phone": "+1 302 555 0100",
            "tax_id_kind": tax_kind,
            "tax_id": tax_id,
        }
        _post(client, "/onboarding/details/", details, investor)
        owner = {
            "action": "add",
            "role": "owner",
            "full_name": "Owner Person",
            "date_of_birth": owner_dob,
            "address": "2 Main St",
            "country": owner_country,
            "citizenship": owner_country,
            "ownership_percent": percent,
            "id_kind": "ssn",
            "id_number": "123-45-6789",
        }
        _post(client, "/onboarding/owners/", owner)

    check()


def test_generated_identity_documents(db: None) -> None:
    user = UserFactory.create()
    investor_kind_set(investor=investor_profile_ensure(user=user), actor=user, kind="individual")
    client = _client(user)

    @examples
    @given(
        upload=UPLOAD,
        kind=st.sampled_from(["passport", "national_id", "proof_of_address", "bogus"]),
        expires=DATE_TEXT,
        country=COUNTRY,
        number=TEXT,
    )
    def check(upload, kind, expires, country, number) -> None:
        data = {
            "kind": kind,
            "file": upload,
            "expires_on": expires,
            "issuing_country": country,
            "document_number": number,
        }
        _post(client, "/onboarding/documents/", data)

    check()


def test_generated_accreditation_figures_and_evidence(db: None) -> None:
    user = UserFactory.create()
    investor = onboarded_individual(user)
    accreditation_claim_start(
        investor=investor,
        actor=user,
        method="income",
        figures={
            "income_two_years_ago_cents": 250_000_00,
            "income_last_year_cents": 250_000_00,
            "income_expected_cents": 250_000_00,
        },
        attested=True,
    )
    client = _client(user)

    @examples
    @given(
        figures=st.lists(AMOUNT_TEXT, min_size=5, max_size=5),
        method=st.sampled_from(["income", "net_worth", "licence", "third_party_letter", "x"]),
        letter_date=DATE_TEXT,
        upload=UPLOAD,
        document_date=DATE_TEXT,
        kind=st.sampled_from(["tax_return", "w2", "bogus"]),
    )
    def check(figures, method, letter_date, upload, document_date, kind) -> None:
        names = ("income_two_years_ago", "income_last_year", "income_expected", "net_worth", "entity_assets")
        claim = {"action": "claim", "method": method, "letter_date": letter_date, "attested": "on"}
        _post(client, "/onboarding/accreditation/", {**claim, **dict(zip(names, figures, strict=True))})
        evidence = {"action": "evidence", "kind": kind, "file": upload, "document_date": document_date}
        _post(client, "/onboarding/accreditation/", evidence)

    check()


def test_generated_tax_forms(db: None) -> None:
    user = UserFactory.create()
    onboarded_individual(user)
    client = _client(user)

    @examples
    @given(signed_on=DATE_TEXT, country=COUNTRY, rate=AMOUNT_TEXT, name=TEXT, tin=TEXT)
    def check(signed_on, country, rate, name, tin) -> None:
        data = {
            "signer_name": name,
            "signed_on": signed_on,
            "tin_certified": "on",
            "foreign_tin": tin,
            "treaty_country": country,
            "treaty_rate_percent": rate,
        }
        _post(client, "/onboarding/tax/", data)

    check()


def test_generated_wallet_api_requests(db: None) -> None:
    user = UserFactory.create()
    onboarded_individual(user)
    client = _client(user)

    @examples
    @given(address=WALLET_ADDRESS, chain_id=MINOR_UNITS, message=st.text(max_size=300), signature=WALLET_ADDRESS)
    def check(address, chain_id, message, signature) -> None:
        for url, body in (
            ("/api/v1/investor/wallets/challenge/", {"address": address, "chain_id": chain_id}),
            ("/api/v1/investor/wallets/link/", {"message": message, "signature": signature}),
        ):
            before = stored_rows()
            with rolled_back():
                response = client.post(url, body, "application/json")
                assert response.status_code in (201, 400, 409), (url, response.status_code, response.content[:300])
                if response.status_code != 201:
                    assert changed_tables(before) == set()

    check()
