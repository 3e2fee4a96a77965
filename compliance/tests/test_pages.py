"""The review queue and an applicant's page: who sees what, filters, inline documents, audited decisions."""

from __future__ import annotations

import pytest
from django.test import Client

from compliance.tests.support import submitted_investor
from core.models import AuditEvent, Role
from core.tests.factories import MembershipFactory
from investors.models import KycStatus

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_lists_applicants_with_what_they_wait_for(cast) -> None:
    clean = submitted_investor(cast, "Walter Kessler")
    flagged = submitted_investor(cast, "Reza Nazari", dob=__import__("datetime").date(1962, 11, 22))
    officer = _client(cast.compliance)
    page = officer.get(f"/issuers/{cast.issuer.slug}/compliance/").content.decode()
    assert "Walter Kessler" in page and "Reza Nazari" in page and "1 possible match" in page
    sanctions = officer.get(f"/issuers/{cast.issuer.slug}/compliance/?show=sanctions").content.decode()
    assert "Reza Nazari" in sanctions and "Walter Kessler" not in sanctions
    found = officer.get(f"/issuers/{cast.issuer.slug}/compliance/?show=all&q=kessl").content.decode()
    assert "Walter Kessler" in found and "Reza Nazari" not in found
    # Tax ids and dates of birth are not in the list.
    assert "123456789" not in page and "1980" not in page
    assert clean.public_id and flagged.public_id


def test_the_applicant_page_shows_documents_inline_only_to_the_issuers_reviewers(cast) -> None:
    investor = submitted_investor(cast)
    url = f"/issuers/{cast.issuer.slug}/compliance/investors/{investor.public_id}/"
    page = _client(cast.compliance).get(url).content.decode()
    passport = investor.documents.get(kind="passport")
    bill = investor.documents.get(kind="proof_of_address")
    assert f'<img class="doc-preview" src="{url}documents/{passport.public_id}/"' in page
    assert f'<iframe class="doc-frame" src="{url}documents/{bill.public_id}/"' in page
    response = _client(cast.compliance).get(f"{url}documents/{passport.public_id}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    # An officer of another issuer the investor did not apply to sees nothing.
    elsewhere = MembershipFactory.create(issuer=cast.other_issuer, role=Role.COMPLIANCE_OFFICER).user
    assert (
        _client(elsewhere)
        .get(f"/issuers/{cast.other_issuer.slug}/compliance/investors/{investor.public_id}/")
        .status_code
        == 404
    )
    assert _client(elsewhere).get(f"{url}documents/{passport.public_id}/").status_code == 403
    assert _client(cast.agent).get(url).status_code == 403


def test_decisions_from_the_page_are_audited_and_refusals_explained(cast, registry) -> None:
    investor = submitted_investor(cast)
    base = f"/issuers/{cast.issuer.slug}/compliance/investors/{investor.public_id}/"
    officer = _client(cast.compliance)
    refused = officer.post(f"{base}kyc/", {"decision": "reject", "note": ""}, follow=True)
    assert "Give the reason for the rejection" in refused.content.decode()
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.PENDING
    officer.post(f"{base}kyc/", {"decision": "approve", "note": ""})
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.APPROVED
    event = AuditEvent.objects.get(action="kyc.approved")
    assert event.issuer_id == cast.issuer.pk and event.actor_label == cast.compliance.email
    officer.post(
        f"{base}wallets/", {"address": "0x000000000000000000000000000000000000dEaD", "custodian_name": "Anchorage"}
    )
    assert investor.wallets.filter(kind="custodial", custodian_name="Anchorage").exists()
    assert AuditEvent.objects.filter(action="wallet.custodial_recorded", issuer_id=cast.issuer.pk).exists()
